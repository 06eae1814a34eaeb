"""Structural errors from the models, located in the YAML with a did-you-mean where one fits."""

from collections.abc import Callable

import pytest

from schemas import ConfigError, Issue, load_workflow, validate_text

Errors = Callable[..., list[str]]


def test_unknown_key_points_at_the_key_with_a_suggestion(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("    prompt: Write.", "    promt: Write.")
    assert errors_of(text) == [
        "7:5: missing required key `prompt` in `steps[0]`",
        "10:5: unknown key `promt` in `steps[0]` (did you mean `prompt`?)",
    ]


def test_unknown_top_level_key(errors_of: Errors, minimal: str) -> None:
    assert errors_of(minimal + "agent_list: []\n") == [
        "11:1: unknown key `agent_list` at the top level (did you mean `agents`?)"
    ]


def test_unknown_step_type_suggests_the_closest(errors_of: Errors, minimal: str) -> None:
    assert errors_of(minimal.replace("type: agent", "type: agnet")) == [
        "8:11: unknown type `agnet` in `steps[0]` (did you mean `agent`?)"
    ]


def test_missing_step_type_lists_the_kinds(errors_of: Errors, minimal: str) -> None:
    assert errors_of(minimal.replace("    type: agent\n", "")) == [
        "7:5: steps[0] needs a `type`: one of `agent`, `approval`, `ask`, `end`, `loop`, `map`, `parallel`, `route`, "
        "`supervisor`, `transform`"
    ]


def test_union_tag_is_stripped_from_nested_paths(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace(
        "steps:\n",
        "steps:\n  - id: twice\n    type: loop\n    until: 'true'\n    max_iterations: 99\n"
        "    steps:\n      - {id: inner, type: agent, agent: writer, prompt: x, colour: red}\n",
    )
    assert errors_of(text) == [
        "10:21: `steps[0].max_iterations`: input should be less than or equal to 50",
        "12:60: unknown key `colour` in `steps[0].steps[0]` "
        "(expected one of `agent`, `artifact`, `description`, `id`, `max_tokens`, `model`, `output`, `prompt`, "
        "`prompt_file`, `retry`, `temperature`, `timeout_seconds`, `type`; or, if `colour: ...` belongs to the value before it, quote "
        "the whole value: `prompt: 'x, colour: red'`)",
    ]


def test_bad_names_point_at_the_key(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("  writer:", "  Writer-1:").replace("agent: writer", "agent: Writer-1")
    errors = errors_of(text)
    assert errors[0] == (
        "4:3: `Writer-1` is not a valid name in `agents`: use lowercase letters, digits and underscores, "
        "starting with a letter"
    )


def test_wrong_literal_suggests_a_value(errors_of: Errors, minimal: str) -> None:
    text = minimal + "inputs:\n  topic:\n    type: strng\n"
    assert errors_of(text) == [
        "13:11: `inputs.topic.type` cannot be 'strng': expected 'string', 'text', 'integer', 'number', "
        "'boolean', 'list' or 'file' (did you mean `string`?)"
    ]


def test_wrong_type_suggests_quoting(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("role: Writer", "role: 42")
    assert errors_of(text) == [
        "5:11: `agents.writer.role`: input should be a valid string (quote the value to make it a string)"
    ]


def test_union_of_plain_types_is_reported_once(errors_of: Errors, minimal: str) -> None:
    text = minimal + "inputs:\n  topic:\n    default: {a: 1}\n"
    assert errors_of(text) == ["13:14: `inputs.topic.default` has a value of the wrong type ({'a': 1})"]


def test_every_error_is_reported_at_once(minimal: str) -> None:
    text = (
        minimal.replace("name: demo", "name: Demo Flow")
        .replace("role: Writer", "rol: Writer")
        .replace("type: agent", "type: agnet")
    )
    report = validate_text(text, "many.yaml")
    assert [(i.line, i.column) for i in report.errors] == [(2, 7), (4, 3), (5, 5), (8, 11)]
    assert not report.ok and report.workflow is None


def test_config_error_carries_issues_and_prints_like_a_compiler(minimal: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_workflow(minimal.replace("prompt: Write.", "promt: Write."), "flow.yaml")
    assert str(info.value).splitlines() == [
        "flow.yaml:7:5: missing required key `prompt` in `steps[0]`",
        "flow.yaml:10:5: unknown key `promt` in `steps[0]` (did you mean `prompt`?)",
    ]
    first = info.value.issues[0]
    assert isinstance(first, Issue)
    assert (first.path, first.severity, first.dotted_path) == (("steps", 0), "error", "steps[0]")


def test_a_valid_config_loads(minimal: str) -> None:
    workflow = load_workflow(minimal)
    assert workflow.steps[0].id == "draft" and workflow.agents["writer"].role == "Writer"


def test_semantic_errors_come_with_structural_ones(errors_of: Errors, minimal: str) -> None:
    """The broken parts are stood in for, so the rest is still checked in the same round."""
    text = minimal.replace("role: Writer", "role: Writer\n    colour: blue") + (
        "  - {id: broken, type: agent, agent: writer}\n"
        "  - {id: later, type: agent, agent: editor, prompt: '{{ steps.broken.output }} {{ steps.nope.output }}'}\n"
    )
    assert errors_of(text) == [
        "6:5: unknown key `colour` in `agents.writer` (expected one of `goal`, `instructions`, `instructions_file`, "
        "`max_tool_calls`, `model`, `on_overflow`, `output`, `role`, `summary_model`, `tools`)",
        "12:5: missing required key `prompt` in `steps[1]`",
        "13:37: unknown agent `editor` (expected one of `writer`)",
        "13:80: unknown step `nope` in `steps.nope.output` (expected one of `broken`, `draft`)",
    ]


def test_nothing_is_reported_twice_or_about_removed_parts(errors_of: Errors, minimal: str) -> None:
    text = (
        minimal.replace("role: Writer", "role: Writer\n    tools: [calc]") + "tools:\n  calc: {type: pyton}\n"
    )
    assert errors_of(text) == ["13:16: unknown type `pyton` in `tools.calc` (did you mean `python`?)"]


def test_every_loop_is_bounded_and_every_route_has_a_default(errors_of: Errors, minimal: str) -> None:
    text = minimal + (
        "  - {id: again, type: loop, until: 'true', steps: [{id: x, type: agent, agent: writer, prompt: x}]}\n"
        "  - {id: pick, type: route, on: x, cases: [{when: a, steps: [{id: y, type: agent, agent: writer, prompt: x}]}]}\n"
    )
    assert errors_of(text) == [
        "11:5: missing required key `max_iterations` in `steps[1]`",
        "12:5: missing required key `default` in `steps[2]`",
    ]


def test_messages_speak_yaml_not_python(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("agents:\n  writer:\n    role: Writer\n", "agents: [writer]\n")
    assert errors_of(text) == ["3:9: `agents`: input should be a mapping of `name: value` pairs"]
    assert errors_of(minimal.replace("version: 1", 'version: "2"')) == [
        "1:10: `version` cannot be '2': expected 2 (remove the quotes)"
    ]
