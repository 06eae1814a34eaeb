"""Targeted edit operations on the draft's data."""

from __future__ import annotations

import pytest

from chatbot.edits import EditOp, apply_edits
from chatbot.errors import DraftError
from tests.chatbot.conftest import brief_config


def test_set_delete_and_append_by_key_index_and_step_id() -> None:
    config = brief_config()
    out = apply_edits(config, [
        EditOp(op="set", path="agents.writer.model", value="openai/gpt-4o-mini"),
        EditOp(op="set", path="steps.write.prompt", value="Short brief: {{ steps.research.output }}"),
        EditOp(op="delete", path="description"),
        EditOp(op="append", path="agents.researcher.tools", value="web"),
        EditOp(op="set", path="steps[0].description", value="first"),
        EditOp(op="set", path="limits.max_cost_usd", value=0.2),
    ])
    assert out["agents"]["writer"]["model"] == "openai/gpt-4o-mini"
    assert out["steps"][1]["prompt"].startswith("Short brief")
    assert "description" not in out and out["agents"]["researcher"]["tools"] == ["web"]
    assert out["steps"][0]["description"] == "first" and out["limits"] == {"max_cost_usd": 0.2}
    assert config == brief_config()  # the input is never changed


def test_every_bad_path_is_reported_at_once() -> None:
    with pytest.raises(DraftError) as caught:
        apply_edits(brief_config(), [
            EditOp(op="set", path="steps.review.prompt", value="x"),
            EditOp(op="delete", path="agents.editor"),
            EditOp(op="set", path="steps.9.id", value="x"),
        ])
    problems = caught.value.problems
    assert len(problems) == 3
    assert "no item with id `review`" in problems[0] and "`research`" in problems[0]
    assert "no `editor` to delete" in problems[1] and "`researcher`" in problems[1]
    assert "index 9 is out of range" in problems[2]
