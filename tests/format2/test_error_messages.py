"""Error messages that used to mislead: a value split by an unquoted comma or colon inside `{...}`,
and an empty list where a step is required."""

from __future__ import annotations

import pytest

from schemas import validate_text

FLOW = """\
version: 2
name: t
agents: {w: {role: W}}
steps:
  - {id: a, type: agent, agent: w, prompt: %s}
"""


@pytest.mark.parametrize(("value", "key", "quoted"), [
    ("Hello, world", "world", "prompt: 'Hello, world'"),
    ("It's short, isn't it", "isn't it", "prompt: 'It''s short, isn''t it'"),
])
def test_an_unquoted_comma_in_a_flow_mapping_says_to_quote_the_value(value: str, key: str, quoted: str) -> None:
    (issue,) = validate_text(FLOW % value, "t.yaml").errors
    assert issue.message.startswith(f"`{key}` is not a key: the comma after")
    assert "unknown key" not in issue.message
    assert issue.fix == f"quote the whole value: `{quoted}`"
    assert issue.line == 5


def test_a_comma_then_colon_may_be_a_key_or_a_cut_value_and_the_fix_says_both() -> None:
    (issue,) = validate_text(FLOW % "Say hi, then: bye", "t.yaml").errors
    assert issue.message == "unknown key `then` in `steps[0]`"
    assert issue.fix.endswith("or, if `then: ...` belongs to the value before it, quote the whole value: "
                              "`prompt: 'Say hi, then: bye'`")


def test_an_unquoted_colon_in_a_flow_mapping_says_to_quote_the_value() -> None:
    (issue,) = validate_text(FLOW % "Note: be brief", "t.yaml").errors
    assert issue.line == 5 and "quote any value that contains `: `" in issue.fix


def test_a_real_unknown_key_in_a_flow_mapping_is_still_an_unknown_key() -> None:
    (issue,) = validate_text(FLOW % "'Hello', colour: red", "t.yaml").errors
    assert issue.message == "unknown key `colour` in `steps[0]`" and "quote" not in issue.fix


def test_an_empty_loop_body_says_how_to_express_do_nothing() -> None:
    text = FLOW.replace("{id: a, type: agent, agent: w, prompt: %s}", "{id: l, type: loop, until: 'true', max_iterations: 2, steps: []}")
    (issue,) = validate_text(text, "t.yaml").errors
    assert issue.message == "`steps[0].steps` needs at least 1 step"
    assert "`steps: []`, which does nothing and carries on" in issue.fix and issue.line == 5


def test_an_empty_route_case_is_allowed_and_means_carry_on() -> None:
    text = FLOW.replace("{id: a, type: agent, agent: w, prompt: %s}", "{id: r, type: route, on: x, cases: [{when: x, steps: []}], default: []}")
    assert validate_text(text, "t.yaml").errors == []
