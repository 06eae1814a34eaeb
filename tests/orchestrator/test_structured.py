"""Structured outputs: the schema asked for, lenient parsing, strict validation, clear errors."""

from __future__ import annotations

import json

import pytest

from orchestrator.state import InputsError, prepare_inputs
from orchestrator.structured import OutputInvalid, json_schema, parse_output, repair_message
from schemas.models import OutputField, Workflow

FIELDS = {
    "verdict": OutputField(type="string", enum=["pass", "fail"], description="The decision."),
    "score": OutputField(type="integer"),
    "tags": OutputField(type="list", items="string"),
}


def test_the_schema_requires_every_declared_field_and_nothing_else() -> None:
    schema = json_schema(FIELDS)
    assert schema["required"] == ["verdict", "score", "tags"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["verdict"]["enum"] == ["pass", "fail"]
    assert schema["properties"]["tags"]["items"]["type"] == "string"


@pytest.mark.parametrize("text", [
    '{"verdict": "pass", "score": 8, "tags": ["a"]}',
    'Here you go:\n```json\n{"verdict": "pass", "score": 8, "tags": ["a"]}\n```',
    'Sure! {"verdict": "pass", "score": 8, "tags": ["a"], "extra": 1} Hope that helps.',
])
def test_answers_are_parsed_leniently(text: str) -> None:
    assert parse_output(text, FIELDS) == {"verdict": "pass", "score": 8, "tags": ["a"]}


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty"),
    ("I think it passes.", "not a JSON object"),
    ('{"verdict": "maybe", "score": 8, "tags": []}', "`verdict`"),
    ('{"verdict": "pass", "tags": []}', "`score`"),
    ('{"verdict": "pass", "score": "high", "tags": []}', "`score`"),
])
def test_invalid_answers_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(OutputInvalid, match=problem) as caught:
        parse_output(text, FIELDS)
    assert "Fix this and try again" in repair_message(caught.value, FIELDS)


NESTED = {
    "sections": OutputField(type="list", items=OutputField(type="object", fields={
        "title": OutputField(),
        "wordCount": OutputField(type="integer"),
        "level": OutputField(enum=["low", "high"]),
        "model_config": OutputField(optional=True),  # a name pydantic itself uses is still fine
    })),
    "nextStep": OutputField(optional=True),
    "meta": OutputField(type="object", fields={"Author": OutputField(), "tags": OutputField(type="list")}),
}


def test_nested_objects_lists_of_objects_and_optional_fields_become_a_strict_schema() -> None:
    schema = json_schema(NESTED)
    assert schema["required"] == ["sections", "meta"]  # `nextStep` is optional
    item = schema["$defs"][schema["properties"]["sections"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(item["properties"]) == {"title", "wordCount", "level", "model_config"}
    assert item["required"] == ["title", "wordCount", "level"] and item["additionalProperties"] is False
    assert all(d["additionalProperties"] is False for d in schema["$defs"].values())
    text = ('{"sections": [{"title": "Intro", "wordCount": 3, "level": "low"}], '
            '"meta": {"Author": "Ann", "tags": ["x"]}}')
    assert parse_output(text, NESTED) == {
        "sections": [{"title": "Intro", "wordCount": 3, "level": "low", "model_config": None}],
        "nextStep": None, "meta": {"Author": "Ann", "tags": ["x"]},
    }
    with pytest.raises(OutputInvalid, match="sections.0.level"):
        parse_output('{"sections": [{"title": "a", "wordCount": 1, "level": "mid"}], '
                     '"meta": {"Author": "b", "tags": []}}', NESTED)


def test_the_offline_model_answers_nested_shapes_with_valid_values() -> None:
    from orchestrator.offline_synth import SCHEMA_MARKER, synthesize

    schema = json_schema(NESTED)
    for topic in ("tides", "volcanoes", "bees"):
        reply = synthesize([{"role": "user", "content": f"Plan {topic}. {SCHEMA_MARKER} {json.dumps(schema)}"}])
        value = parse_output(reply.text, NESTED)
        assert value["sections"] and all(s["level"] in ("low", "high") for s in value["sections"])
        assert isinstance(value["meta"]["tags"], list)


def test_inputs_are_coerced_from_text_and_checked() -> None:
    wf = Workflow.model_validate({
        "version": 1, "name": "typed", "agents": {"a": {"role": "A"}},
        "inputs": {"n": {"type": "number"}, "items": {"type": "list"}, "flag": {"type": "boolean", "default": True}},
        "steps": [{"id": "s", "type": "agent", "agent": "a", "prompt": "x"}],
    })
    assert prepare_inputs(wf, {"n": "2.5", "items": "a, b,c"}) == {"n": 2.5, "items": ["a", "b", "c"], "flag": True}
    assert prepare_inputs(wf, {"n": 1, "items": '["x", "y"]', "flag": "no"})["items"] == ["x", "y"]
    with pytest.raises(InputsError, match="`n` should be number"):
        prepare_inputs(wf, {"n": "lots", "items": "a"})
    with pytest.raises(InputsError, match="unknown input"):
        prepare_inputs(wf, {"n": 1, "items": "a", "colour": "red"})
