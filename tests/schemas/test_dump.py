"""to_yaml: short output with the schema modeline, and edits that keep a person's comments."""

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import Workflow, load_workflow, to_yaml, validate_text

EDITED = """\
# yaml-language-server: $schema=../schemas/workflow.schema.json
# My team's workflow — please keep this comment.
version: 2
name: demo
agents:
  writer:
    role: Writer   # who writes
    model: openai/gpt-4o-mini
steps:
  # first we draft
  - id: draft
    type: agent
    agent: writer
    prompt: "Write."   # keep the double quotes
  - id: check
    type: agent
    agent: writer
    prompt: Check {{ steps.draft.output }}
limits:
  max_steps: 50   # the default, written on purpose
"""


def test_fresh_output_starts_with_the_modeline_and_omits_defaults() -> None:
    workflow = load_workflow(EDITED)
    text = to_yaml(workflow)
    assert text.startswith("# yaml-language-server: $schema=schemas/workflow.schema.json\nversion: 2\n")
    assert "limits" not in text and "max_tool_calls" not in text and "description" not in text
    assert "- id: draft\n    type: agent\n" in text
    assert load_workflow(text) == workflow
    assert to_yaml(workflow, schema_url="https://example.org/s.json").startswith(
        "# yaml-language-server: $schema=https://example.org/s.json\n"
    )


def test_multi_line_strings_are_written_as_blocks() -> None:
    workflow = load_workflow(EDITED.replace('prompt: "Write."', 'prompt: "Line one.\\nLine two.\\n"'))
    assert "    prompt: |\n      Line one.\n      Line two.\n" in to_yaml(workflow)


def test_unchanged_base_comes_back_byte_for_byte() -> None:
    assert to_yaml(load_workflow(EDITED), base_text=EDITED) == EDITED


def test_an_edit_keeps_comments_quotes_and_order() -> None:
    workflow = load_workflow(EDITED)
    changed = workflow.model_copy(deep=True)
    changed.steps[1].prompt = "Check carefully: {{ steps.draft.output }}"
    changed.agents["writer"].goal = "Be brief."
    text = to_yaml(changed, base_text=EDITED)
    expected = EDITED.replace(
        "prompt: Check {{ steps.draft.output }}", "prompt: 'Check carefully: {{ steps.draft.output }}'"
    ).replace("    role: Writer   # who writes\n", "    role: Writer   # who writes\n    goal: Be brief.\n")
    assert text == expected
    assert load_workflow(text) == changed


def test_removing_and_inserting_steps_keeps_the_rest() -> None:
    workflow = load_workflow(EDITED)
    data = workflow.model_dump(by_alias=True)
    data["steps"] = [data["steps"][1], {"id": "extra", "type": "agent", "agent": "writer", "prompt": "More."}]
    data["steps"][0]["prompt"] = "Check."
    changed = type(workflow).model_validate(data)
    text = to_yaml(changed, base_text=EDITED)
    assert "# My team's workflow — please keep this comment." in text
    assert "- id: draft" not in text
    assert "  - id: extra\n    type: agent\n    agent: writer\n    prompt: More.\n" in text
    assert "  max_steps: 50   # the default, written on purpose\n" in text
    assert load_workflow(text) == changed


def test_an_unreadable_base_is_replaced_by_a_fresh_dump() -> None:
    workflow = load_workflow(EDITED)
    assert to_yaml(workflow, base_text="a: &x [*x]") == to_yaml(workflow)


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=60).filter(lambda t: "{" not in t), st.text(min_size=1, max_size=30).filter(str.strip)
)
def test_any_text_survives_a_dump(prompt: str, role: str) -> None:
    """Line-break look-alikes (NEL, U+2028), control characters and CRs come back unchanged."""
    data = load_workflow(EDITED).model_dump(by_alias=True)
    data["steps"][0]["prompt"], data["agents"]["writer"]["role"] = prompt, role
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError:
        return  # e.g. longer than a field allows
    report = validate_text(to_yaml(workflow))
    assert report.workflow == workflow or any("API key" in i.message for i in report.errors)


def test_a_version_1_base_is_written_back_as_version_2_and_otherwise_unchanged() -> None:
    old = EDITED.replace("version: 2\n", "version: 1\n", 1)
    assert to_yaml(load_workflow(old), base_text=old) == EDITED
