"""Keep what is sent to the model within its context budget.

The request is: system prompt, a summary of older turns, the recent turns, the current draft in
full, and the new message. When that exceeds the budget, the oldest turns are folded into the
summary (a deterministic digest: no extra model call, nothing invented) until it fits. The draft
is never cut: it is the one thing the model must see whole.
"""

from __future__ import annotations

from typing import Any

from chatbot.state import ChatState

DEFAULT_CONTEXT_TOKENS = 16_000
_CHARS_PER_TOKEN = 4
_MESSAGE_OVERHEAD = 4
_DIGEST_CHARS = 160
_OMITTED = "(earlier turns omitted)"
_KEEP_RECENT = 2  # the newest messages are never folded (the question and the answer it refers to)


def count_tokens(messages: list[dict[str, Any]]) -> int:
    """A deterministic size estimate (~4 characters per token, plus a little per message)."""
    return sum(_MESSAGE_OVERHEAD + len(str(m.get("content") or "")) // _CHARS_PER_TOKEN for m in messages)


def build_messages(state: ChatState, *, system: str, draft: str, budget: int) -> list[dict[str, Any]]:
    """The request messages for the turn whose user message is the last in `state.messages`.

    Folds old turns into `state.summary` (advancing `state.summarized_upto`) while over `budget`.
    """
    while True:
        messages = _assemble(state, system, draft)
        if count_tokens(messages) <= budget:
            return messages
        foldable = len(state.messages) - _KEEP_RECENT - state.summarized_upto
        if foldable > 0:
            _fold(state, min(foldable, 2), max_summary_chars=budget * _CHARS_PER_TOKEN // 4)
        elif not _trim_summary(state):
            return messages  # system prompt, draft and the newest turns alone exceed the budget


def _assemble(state: ChatState, system: str, draft: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if state.summary:
        messages.append({"role": "system", "content": "Summary of the earlier conversation:\n" + state.summary})
    recent = state.messages[state.summarized_upto :]
    for message in recent[:-1]:
        messages.append({"role": message.role, "content": message.content})
    messages.append({"role": "system", "content": draft})
    if recent:
        messages.append({"role": recent[-1].role, "content": recent[-1].content})
    return messages


def _fold(state: ChatState, count: int, *, max_summary_chars: int) -> None:
    """Move the `count` oldest unsummarised messages into the summary, keeping it bounded."""
    folded = state.messages[state.summarized_upto : state.summarized_upto + count]
    lines = state.summary.splitlines() if state.summary else []
    for message in folded:
        text = " ".join(message.content.split())
        if len(text) > _DIGEST_CHARS:
            text = text[: _DIGEST_CHARS - 1] + "…"
        lines.append(f"- {message.role}: {text}")
    state.summary = "\n".join(lines)
    state.summarized_upto += len(folded)
    while len(state.summary) > max_summary_chars and _trim_summary(state):
        pass


def _trim_summary(state: ChatState) -> bool:
    """Drop the oldest line of the summary; False when there is nothing left to drop."""
    lines = [line for line in state.summary.splitlines() if line != _OMITTED]
    if not lines:
        return False
    lines.pop(0)
    state.summary = "\n".join([_OMITTED, *lines]) if lines else _OMITTED
    return True
