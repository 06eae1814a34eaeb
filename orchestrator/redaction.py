"""Exact-value redaction of the keys the process knows, before anything is shown or stored.

A provider or a tool may echo a key back (in a reply, an error, a fetched page). Pattern matching
(`secrets.redact`) misses keys without a known shape, so every text that reaches events, the page,
history or checkpoints is first cleared of the exact values of the keys this process holds: the
environment's and this session's own (see `Credentials.known_secrets`). This pass is cheap (one
substring test per key), so it runs on every event; the pattern-based scrub stays as a second net.
Streamed tokens go through `StreamRedactor`, which holds back just enough text to catch a key split
across chunks.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from orchestrator.secrets import MIN_KNOWN_CHARS, REDACTED

E = TypeVar("E", bound=BaseModel)

KNOWN_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("graphwright_known_secrets", default=())
"""The key values a run must never show or store, set by the engine for the run's task."""


def usable(known: Iterable[str]) -> tuple[str, ...]:
    """The values worth redacting, longest first (so a key containing another is replaced whole)."""
    return tuple(sorted({k for k in known if k and len(k) >= MIN_KNOWN_CHARS}, key=len, reverse=True))


def without_known(text: str, known: Iterable[str]) -> str:
    """`text` with every occurrence of a known key replaced by [REDACTED]."""
    return _without(text, usable(known))


def _without(text: str, keys: tuple[str, ...]) -> str:
    """`without_known` for keys already `usable` (the streaming path: no sort per chunk)."""
    for key in keys:
        if key in text:
            text = text.replace(key, REDACTED)
    return text


def deep_without_known(value: Any, known: tuple[str, ...]) -> Any:
    """`value` (str, dict, list, nested) with known keys redacted from every string in it."""
    return _deep(value, usable(known))


def _deep(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _without(value, keys) if value else value
    if isinstance(value, dict):
        return {k: _deep(v, keys) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(v, keys) for v in value]
    return value


def event_without_known(event: E, known: tuple[str, ...]) -> E:
    """A copy of `event` with known keys redacted from every field (the event itself when clean).

    Runs on every event of every run, the streamed pieces included: the keys are sorted once per
    event, not once per string in it."""
    if not known:
        return event
    keys = usable(known)
    updates = {}
    for name, value in event.__dict__.items():  # the fields' values, without pydantic's attribute lookups
        if isinstance(value, str | dict | list) and value:
            cleaned = _deep(value, keys)
            if cleaned != value:
                updates[name] = cleaned
    return event.model_copy(update=updates) if updates else event


def input_holding_a_key(inputs: dict[str, Any], known: tuple[str, ...]) -> str | None:
    """The name of the first input whose value contains a known key, else None."""
    for name, value in inputs.items():
        if deep_without_known(value, known) != value:
            return name
    return None


class StreamRedactor:
    """Redacts known keys from a stream of chunks; a key split across chunks is still caught.

    Only a tail that could be the start of a key is held back (until more text or `flush` shows
    what it is), so ordinary text streams on unchanged.
    """

    def __init__(self, known: Iterable[str]) -> None:
        self._known = usable(known)
        self._buffer = ""

    def feed(self, chunk: str) -> str:
        if not self._known:
            return chunk
        self._buffer = _without(self._buffer + chunk, self._known)
        cut = len(self._buffer) - self._partial_key_at_end(self._buffer)
        out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return out

    def flush(self) -> str:
        out, self._buffer = _without(self._buffer, self._known), ""
        return out

    def _partial_key_at_end(self, text: str) -> int:
        """The length of the longest end of `text` that is the beginning of a known key."""
        longest = 0
        for key in self._known:  # only where the key's first character occurs can a key begin
            at = text.find(key[0], max(0, len(text) - len(key) + 1))
            while at != -1 and len(text) - at > longest:
                if key.startswith(text[at:]):
                    longest = len(text) - at
                    break
                at = text.find(key[0], at + 1)
        return longest
