"""Recognise and redact API keys before text reaches logs, traces, history, YAML or the page.

Patterns cover the providers people paste keys from (OpenAI, Anthropic, Google, Hugging Face,
GitHub, AWS, Groq), bearer headers, and long high-entropy values after `key=` / `token=`. Callers
also pass the keys they *know* (the session's credentials) so even an unusual key shape is caught.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

REDACTED = "[REDACTED]"
MIN_KNOWN_CHARS = 4  # a known key of any plausible length is redacted; shorter would shred ordinary text

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anthropic", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("google", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("huggingface", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("github", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("aws", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("groq", re.compile(r"\bgsk_[A-Za-z0-9]{30,}")),
    ("bearer", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9_\-.=:/+]{16,})")),
)
_ASSIGNED = re.compile(
    r"(?i)\b(?:api[_-]?key|key|token|secret|password|access[_-]?token|auth)\s*[=:]\s*[\"']?([A-Za-z0-9_\-./+=]{20,})"
)


@dataclass(frozen=True)
class SecretMatch:
    kind: str
    start: int
    end: int
    text: str


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character: random tokens score ~4+, words and paths far less."""
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(value: str) -> bool:
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return len(value) >= 20 and classes >= 2 and _entropy(value) >= 3.5


def find_secrets(text: str, known: Iterable[str] = ()) -> list[SecretMatch]:
    """Every secret-looking span in `text`, in order, without overlaps."""
    found: list[SecretMatch] = []
    for secret in {k for k in known if k and len(k) >= MIN_KNOWN_CHARS}:
        for m in re.finditer(re.escape(secret), text):
            found.append(SecretMatch("known", m.start(), m.end(), secret))
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            found.append(SecretMatch(kind, m.start(group), m.end(group), m.group(group)))
    for m in _ASSIGNED.finditer(text):
        if _looks_random(m.group(1)):
            found.append(SecretMatch("assigned", m.start(1), m.end(1), m.group(1)))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[SecretMatch] = []
    for match in found:
        if merged and match.start < merged[-1].end:
            last = merged[-1]
            if match.end > last.end:
                merged[-1] = SecretMatch(last.kind, last.start, match.end, text[last.start:match.end])
            continue
        merged.append(match)
    return merged


def looks_like_secret(text: str) -> bool:
    """True when `text` contains anything that looks like an API key or token."""
    return bool(find_secrets(text))


# Shorter shapes than redaction uses (a truncated or test key): for refusing what a person pastes,
# where a false alarm costs a sentence, not for rewriting text that flows through a run.
_SHORT_SHAPES = re.compile(
    r"\bsk-(?=[A-Za-z0-9_\-]{4,})(?:[A-Za-z0-9_\-]*\d|[A-Za-z0-9_\-]{8,})"
    r"|\b(?:hf|gsk|gh[pousr])_[A-Za-z0-9]{6,}|\bAIza[0-9A-Za-z_\-]{10,}"
)


def looks_like_pasted_key(text: str) -> bool:
    """True when `text` holds a key of a known shape, however short (the chat's guard)."""
    return looks_like_secret(text) or bool(_SHORT_SHAPES.search(text))


def redact(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every secret (pattern matches and the `known` values) replaced by [REDACTED]."""
    matches = find_secrets(text, known)
    if not matches:
        return text
    parts, last = [], 0
    for match in matches:
        parts.append(text[last:match.start])
        parts.append(REDACTED)
        last = match.end
    parts.append(text[last:])
    return "".join(parts)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from each record's message (attach to handlers/loggers)."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        super().__init__()
        self._known = tuple(known)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._known)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
