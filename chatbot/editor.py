"""The editor ↔ chat sync, and the user's answer to a change that raises powers.

A hand edit is taken as it is — comments, order and all — and validated; the assistant continues
from it. Hand edits need no confirmation (the user wrote them), but a pasted key is refused: the
editor goes back to the previous text. `confirm()` / `reject()` settle a pending model change.
"""

from __future__ import annotations

from chatbot.draft import secret_problems, validate
from chatbot.guard import KEY_REPLY
from chatbot.state import ChatState, TurnResult
from chatbot.turns import OFFLINE_MODEL, finish

MAX_YAML_CHARS = 200_000


def user_edited_yaml(state: ChatState, text: str, *, default_model: str = OFFLINE_MODEL) -> TurnResult:
    """Take the editor's text as the draft; report whether it validates (never rewrites it)."""
    before = state.draft_yaml
    if text == before:
        return finish(state, before, "", default_model=default_model, record=False)
    if len(text) > MAX_YAML_CHARS:
        reply = f"The config is {len(text):,} characters; the limit is {MAX_YAML_CHARS:,}. The edit was not kept."
        return finish(state, before, reply, errors=[reply], default_model=default_model, record=False)
    if secret_problems(text):
        return finish(state, before, KEY_REPLY, errors=[KEY_REPLY], default_model=default_model, record=False)
    state.draft_yaml = text
    state.pending = None
    workflow, problems = validate(text, located=True) if text.strip() else (None, [])
    if workflow is not None:
        state.last_valid_yaml = text
        reply = "Got your edit; the config is valid. Ask me for changes any time."
    elif not text.strip():
        reply = "The editor is empty; describe the workflow and I'll draft it."
    else:
        reply = "Got your edit, but it does not validate yet — see the errors. I'll work from your text."
    return finish(state, before, reply, errors=problems, default_model=default_model, record=False)


def confirm(state: ChatState, *, default_model: str = OFFLINE_MODEL) -> TurnResult:
    """Apply the pending change the user approved."""
    before = state.draft_yaml
    pending = state.pending
    if pending is None:
        return finish(state, before, "There is no change waiting for confirmation.", default_model=default_model,
                      record=False)
    state.pending = None
    state.draft_yaml = state.last_valid_yaml = pending.yaml
    listed = ", ".join(pending.powers)
    return finish(state, before, f"Applied, including: {listed}.", default_model=default_model)


def reject(state: ChatState, *, default_model: str = OFFLINE_MODEL) -> TurnResult:
    """Drop the pending change; the draft stays as it was."""
    before = state.draft_yaml
    if state.pending is None:
        return finish(state, before, "There is no change waiting for confirmation.", default_model=default_model,
                      record=False)
    state.pending = None
    return finish(state, before, "Discarded that change; the draft is unchanged. What would you like instead?",
                  default_model=default_model)

