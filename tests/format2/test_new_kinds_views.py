"""The new kinds in the diagram, the cost estimate and the assistant's format description."""

from __future__ import annotations

from pathlib import Path

from chatbot.estimate import estimate_cost
from schemas import describe_format, load_workflow_file
from ui.mermaid import to_mermaid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_diagram_draws_transform_end_and_an_empty_case() -> None:
    text = to_mermaid(load_workflow_file(EXAMPLES / "early_exit.yaml"))
    assert '[["' not in text  # no transform in this one
    assert '(("refuse: end"))' in text
    gate = next(line.split("{")[0].strip() for line in text.splitlines() if "gate: route" in line)
    answer = next(line.split("[")[0].strip() for line in text.splitlines() if "answer: helper" in line)
    assert f'{gate} -->|"true"| {answer}' in text  # the empty case goes straight on
    assert '[["record: transform"]]' in to_mermaid(load_workflow_file(EXAMPLES / "release_notes.yaml"))


def test_a_transform_and_an_end_cost_nothing() -> None:
    with_transform = load_workflow_file(EXAMPLES / "release_notes.yaml")
    estimate = estimate_cost(with_transform, default_model="openai/gpt-4o-mini")
    assert estimate.expected.calls == 2  # draft and announce; the transform calls no model
    without = with_transform.model_copy(update={"steps": [s for s in with_transform.steps if s.type != "transform"]})
    assert estimate_cost(without, default_model="openai/gpt-4o-mini").worst.calls == estimate.worst.calls


def test_the_assistant_is_told_about_the_new_kinds_and_settings() -> None:
    text = describe_format()
    assert "`type: transform`" in text and "`type: end`" in text
    assert "`temperature`" in text and "steps: []" in text
