"""A last line of defence: secrets never reach the history file or MLflow spans.

The engine redacts with the session's known keys before it emits; this pass catches anything
key-shaped that slipped through (a key pasted into an input, echoed in a provider error...).
Only free-text fields are scanned (derived from the event models: every field that is not a
number, a flag or an identifier), and only when non-empty: the full redactor costs ~0.2 ms per
call, far too much to run on every event's JSON.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from orchestrator import events as ev

try:
    from orchestrator.secrets import redact as _redact
except ImportError:  # the shared redactor is not there: a minimal pattern set
    _FALLBACK = re.compile(
        r"\b(?:sk-[A-Za-z0-9_\-]{20,}|AIza[0-9A-Za-z_\-]{35}|hf_[A-Za-z0-9]{30,}|gsk_[A-Za-z0-9]{30,}"
        r"|gh[pousr]_[A-Za-z0-9]{36,}|(?:AKIA|ASIA)[0-9A-Z]{16})"
        r"|(?i:bearer\s+[A-Za-z0-9_\-.=:/+]{16,})"
    )

    def _redact(text: str) -> str:
        return _FALLBACK.sub("[REDACTED]", text)


_IDENTIFIERS = frozenset({
    "run_id", "type", "step_id", "step_type", "status", "model", "provider", "workflow", "owner",
    "default_model", "agent", "tool", "call_id", "limit", "reason", "config_hash", "version",
})  # fmt: skip
_NOT_TEXT = frozenset({int, float, bool, int | None, float | None, bool | None})


def redact(text: str) -> str:
    return _redact(text)


@cache
def _text_fields(cls: type[ev._Event]) -> tuple[str, ...]:
    return tuple(
        name for name, f in cls.model_fields.items() if name not in _IDENTIFIERS and f.annotation not in _NOT_TEXT
    )


def _deep(value: Any) -> Any:
    if isinstance(value, str):
        return _redact(value) if value else value
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(v) for v in value]
    return value


def scrub(event: ev.Event) -> tuple[ev.Event, str]:
    """The event with secrets redacted from its free-text fields, and its JSON payload."""
    event = scrubbed(event)
    # A start's config text is stored once per version (`config_versions`), not in every run's log;
    # a step's full output once, in `steps.output`.
    if isinstance(event, ev.RunStarted):
        return event, event.model_dump_json(exclude={"version"})
    if isinstance(event, ev.StepFinished):
        return event, event.model_dump_json(exclude={"output"})
    return event, event.model_dump_json()


def scrubbed(event: ev.Event) -> ev.Event:
    """The event with secrets redacted from its free-text fields (the same object when it had none)."""
    updates = {}
    for name in _text_fields(type(event)):
        value = getattr(event, name)
        if value:
            cleaned = _deep(value)
            if cleaned != value:
                updates[name] = cleaned
    return event.model_copy(update=updates) if updates else event


def spooled(event: ev.Event) -> ev.Event:
    """The event as a run-history spool may keep it (`history.spool`): scrubbed, and the texts the
    history redacts when it files a config version (the original text, the chat request) redacted too."""
    event = scrubbed(event)
    version = getattr(event, "version", None)
    if isinstance(event, ev.RunStarted) and version is not None:
        clean = {"original": redact(version.original), "chat_request": redact(version.chat_request)}
        if clean != {"original": version.original, "chat_request": version.chat_request}:
            event = event.model_copy(update={"version": version.model_copy(update=clean)})
    return event
