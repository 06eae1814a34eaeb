"""A last line of defence: secrets never reach the history file or MLflow spans.

The engine redacts with the session's known keys before it emits; this pass catches anything
key-shaped that slipped through (a key pasted into an input, echoed in a provider error...).
Only text-bearing events are scanned: an `llm_call` without an error carries numbers and names.
"""

from __future__ import annotations

import re
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


def redact(text: str) -> str:
    return _redact(text)


def scrub(event: ev.Event) -> tuple[ev.Event, str]:
    """The event (redacted if needed) and its JSON payload."""
    payload = event.model_dump_json()
    if isinstance(event, ev.StepStarted) or (isinstance(event, ev.LLMCall) and not event.error):
        return event, payload
    if _redact(payload) == payload:
        return event, payload
    cleaned = ev.parse_event(_deep(event.model_dump(mode="json")))  # field by field: JSON stays valid
    return cleaned, cleaned.model_dump_json()


def _deep(value: Any) -> Any:
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value
