"""`checks:` in the config: the shape of a case, and the rules that tie it to the rest of the workflow."""

from collections.abc import Callable

from schemas import load_workflow, to_yaml, validate_text

Errors = Callable[..., list[str]]

HEAD = """\
version: 2
name: demo
inputs:
  topic: {}
  pages: {type: integer, default: 2}
agents:
  writer: {role: Writer}
  scorer: {role: Scorer, output: {title: {}, score: {type: integer}, parts: {type: list, items: {type: object, fields: {name: {}}}}}}
steps:
  - {id: draft, type: agent, agent: writer, prompt: '{{ inputs.topic }} {{ inputs.pages }}'}
  - {id: rate, type: agent, agent: scorer, prompt: '{{ steps.draft.output }}'}
checks:
"""  # the checks start on line 12


def checks(*lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in lines)


def test_a_complete_case_is_valid_and_round_trips() -> None:
    text = checks(
        "  - name: short topic",
        "    description: A one-word topic.",
        "    inputs: {topic: tides, pages: 3}",
        "    expect:",
        "      - {step: draft, contains: tide}",
        "      - {step: draft, regex: '^A'}",
        "      - {field: title, equals: Tides}",
        "      - {field: score, min: 1, max: 10}",
        "      - {field: parts.0.name, contains: x}",
        "      - shape: {type: object, required: [title]}",
        "      - {judge: The title is short, model: openai/gpt-4o-mini}",
        "    max_cost_usd: 0.05",
        "    max_tokens: 5000",
        "    max_latency_s: 30",
        "    repeat: 3",
        "    pass_threshold: 0.66",
    )
    report = validate_text(text, sandbox_available=True)
    assert report.errors == [] and report.warnings == []
    workflow = load_workflow(text)
    case = workflow.checks[0]
    assert [e.kind for e in case.expect] == ["contains", "regex", "equals", "bounds", "contains", "shape", "judge"]
    assert case.needed_passes == 2
    assert to_yaml(workflow, base_text=text).split("\n", 1)[1] == text  # (plus the schema modeline)
    assert load_workflow(to_yaml(workflow)) == workflow


def test_an_expectation_gives_exactly_one_kind(errors_of: Errors) -> None:
    assert errors_of(checks("  - name: a", "    inputs: {topic: x}", "    expect:",
                            "      - {contains: x, regex: y}", "      - {step: draft}")) == [
        "16:9: `checks[0].expect[0]`: one expectation per entry, not contains and regex: split them into "
        "separate entries of `expect`",
        "17:9: `checks[0].expect[1]`: say what to expect: one of `equals`, `contains`, `regex`, `shape`, `judge`, "
        "or `min`/`max`",
    ]


def test_bad_regex_schema_bounds_and_judge_model_are_located(errors_of: Errors) -> None:
    found = errors_of(checks(
        "  - name: a",
        "    inputs: {topic: x}",
        "    expect:",
        "      - {regex: '(unclosed'}",
        "      - shape: {type: thing}",
        "      - {field: score, min: 5, max: 1}",
        "      - {contains: x, model: openai/gpt-4o}",
        "    repeat: 0",
    ))
    assert found[0].startswith("16:17: `checks[0].expect[0].regex`: not a valid regular expression: missing )")
    assert found[1].startswith("17:16: `checks[0].expect[1].shape`: not a valid JSON Schema: 'thing' is not valid")
    assert found[2:] == [
        "18:9: `checks[0].expect[2]`: `min` (5) is above `max` (1)",
        "19:9: `checks[0].expect[3]`: `model` only applies to a `judge`",
        "20:13: `checks[0].repeat`: input should be greater than or equal to 1",
    ]


def test_inputs_must_be_declared_typed_and_complete(errors_of: Errors) -> None:
    assert errors_of(checks(
        "  - name: a",
        "    inputs: {topik: x, pages: two}",
        "    max_tokens: 10",
    )) == [
        "13:11: check `a` does not give the required input(s) `topic` (add them under the check's `inputs`, "
        "or give those inputs a `default`)",
        "14:14: check `a` gives input `topik`, which the workflow does not declare (did you mean `topic`?)",
        "14:31: input `pages` is an integer, but check `a` gives str `'two'`",
    ]


def test_steps_and_fields_must_exist(errors_of: Errors) -> None:
    assert errors_of(checks(
        "  - name: a",
        "    inputs: {topic: x}",
        "    expect:",
        "      - {step: drat, contains: x}",
        "      - {step: draft, field: title, contains: x}",
        "      - {field: scor, min: 1}",
        "      - {field: title, max: 3}",
        "      - {field: parts.0.nam, contains: x}",
        "      - {step: rate, field: parts.x, contains: x}",
    )) == [
        "16:16: unknown step `drat` (did you mean `draft`?)",
        "17:30: step `draft` returns text, so `steps.draft.output.title` has nothing to read (declare `output:` "
        "fields on its agent, or read `steps.draft.output`)",
        "18:17: step `rate` has no output field `scor` (the final output is step `rate`'s) (did you mean `score`?)",
        "19:29: `min`/`max` compare numbers, but this reads a string (name a numeric `field`)",
        "20:17: `steps.rate.output.parts.0` has no field `nam` (the final output is step `rate`'s) "
        "(did you mean `name`?)",
        "21:29: `steps.rate.output.parts` is a list of objects (name): read an item with `.0`, or every `x` with "
        "`pluck(..., \"x\")`",
    ]


def test_case_names_are_unique_and_a_case_expects_something(errors_of: Errors) -> None:
    assert errors_of(checks(
        "  - {name: a, inputs: {topic: x}, max_tokens: 9}",
        "  - {name: a, inputs: {topic: x}, max_tokens: 9}",
        "  - {name: b, inputs: {topic: x}}",
    )) == [
        "14:12: two checks are named `a` (give each a unique name)",
        "15:5: `checks[2]`: check `b` expects nothing: add `expect` entries or a cap (`max_cost_usd`, "
        "`max_tokens`, `max_latency_s`)",
    ]


def test_a_broken_case_does_not_hide_problems_in_the_others(errors_of: Errors) -> None:
    found = errors_of(checks(
        "  - {name: a, inputs: {topic: x}, expect: [{regex: '('}, {step: nope, contains: x}]}",
        "  - {name: b, inputs: {topik: x}, max_tokens: 9}",
    ))
    assert len(found) == 4
    assert "`checks[0].expect[0].regex`: not a valid regular expression" in found[0]
    assert "unknown step `nope`" in found[1]
    assert "does not give the required input(s) `topic`" in found[2]
    assert "gives input `topik`" in found[3]
