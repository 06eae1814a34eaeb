"""Shared by every kind of turn: building the `TurnResult` the page renders.

Every turn ends the same way — current YAML, a diff against the YAML before the turn, the errors
the user should see, and a cost estimate when the draft is valid — so the assistant, the guided
form, the editor sync and confirmations all report through `finish`.
"""

from __future__ import annotations

from chatbot.diff import yaml_diff
from chatbot.draft import current_workflow
from chatbot.estimate import estimate_cost
from chatbot.plain_diff import plain_diff
from chatbot.state import ChatState, TurnResult

OFFLINE_MODEL = "offline/synthetic"


def estimate_text(yaml_text: str, default_model: str) -> str | None:
    """The estimate of a valid draft as markdown, or None when there is nothing valid to estimate."""
    workflow = current_workflow(yaml_text) if yaml_text.strip() else None
    if workflow is None:
        return None
    return estimate_cost(workflow, default_model=default_model).to_markdown()


def finish(
    state: ChatState,
    before_yaml: str,
    reply: str,
    *,
    errors: list[str] | None = None,
    default_model: str = OFFLINE_MODEL,
    record: bool = True,
) -> TurnResult:
    """Record the reply in the history and describe the turn for the page."""
    if record:
        state.add("assistant", reply)
    if state.draft_yaml != before_yaml:
        _note_turn(state, from_chat=record)
    return TurnResult(
        reply=reply,
        yaml=state.draft_yaml,
        diff=yaml_diff(before_yaml, state.draft_yaml),
        errors=list(errors or []),
        estimate=estimate_text(state.draft_yaml, default_model),
        pending_confirmation=list(state.pending.powers) if state.pending else [],
        plain_diff=plain_diff_text(before_yaml, state.draft_yaml, default_model),
    )


def plain_diff_text(before_yaml: str, after_yaml: str, default_model: str) -> str:
    """The change between two drafts in plain words with its cost change; empty unless both validate."""
    if before_yaml == after_yaml or not before_yaml.strip():
        return ""
    before = current_workflow(before_yaml)
    after = current_workflow(after_yaml) if before is not None else None
    if before is None or after is None:
        return ""
    return plain_diff(before, after, default_model=default_model).to_text()


REQUEST_CHARS = 300


def _note_turn(state: ChatState, *, from_chat: bool) -> None:
    """Remember which chat turn produced the draft (a hand edit in the editor is no chat turn)."""
    asked = [m.content for m in state.messages if m.role == "user"]
    if from_chat and asked:
        state.draft_turn, state.draft_request = len(asked), asked[-1][:REQUEST_CHARS]
    else:
        state.draft_turn, state.draft_request = None, ""
