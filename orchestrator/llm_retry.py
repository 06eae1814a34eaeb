"""Turn provider exceptions into graphwright's error classes, and decide how long to back off.

LiteLLM raises OpenAI-style exceptions carrying a `status_code` and response headers; everything
else (dropped sockets, our own total timeout) is mapped here too, so `llm.py` sees one vocabulary.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass

from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelCallError,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from orchestrator.secrets import redact
from orchestrator.text import shorten

_NOISE = re.compile(r"(litellm\.\w+:\s*|\b\w+(?:Error|Exception)\s*(?::|-)\s*)")
_REPR = re.compile(r"\s*(?:\w+:)?<[^<>]*\bobject at 0x[0-9a-fA-F]+>")  # `ssl:<ssl.SSLContext object at 0x…>`
_TIMEOUT_WORDS = re.compile(r"\btime[d ]?\s?out\b|\btimeout\b", re.I)
_DESCRIBE = (
    (RateLimited, "was rate limited"),
    (ProviderTimeout, "timed out"),
    (ProviderUnavailable, "is unavailable"),
    (AuthenticationFailed, "rejected the API key"),
    (BadRequest, "rejected the request"),
    (ModelNotFound, "is not known to the provider"),
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; a server's Retry-After wins but is capped."""

    base: float = 0.5
    cap: float = 8.0
    retry_after_cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        jittered = min(self.cap, self.base * 2**attempt) * rng.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(self.retry_after_cap, max(retry_after, jittered))
        return jittered


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_of(exc: BaseException) -> float | None:
    """The server's requested wait, from `retry-after-ms` or `Retry-After` (seconds)."""
    for holder in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None),
                                                                           "headers", None)):
        if not holder:
            continue
        try:
            if holder.get("retry-after-ms"):
                return float(holder["retry-after-ms"]) / 1000
            if holder.get("retry-after"):
                return float(holder["retry-after"])
        except (TypeError, ValueError):
            continue
    return None


def _body_message(text: str) -> str | None:
    """The message of an OpenAI-style JSON error body (`{"error": {"message": ...}}`) at the start of `text`."""
    try:
        body, _end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message.strip():
        return None
    return " ".join(message.split())


def clean_message(exc: BaseException, known: tuple[str, ...] = ()) -> str:
    """The provider's message without LiteLLM's class-name prefixes and without any secret."""
    full = str(exc).strip()
    text = _NOISE.sub("", full.split("\n")[0].strip() or type(exc).__name__).strip(" -:")
    if text.startswith("{"):  # LiteLLM's HTTP handler passes the error body on as it came
        text = _body_message(full[full.find("{"):]) or text
    text = _REPR.sub("", redact(text, known))
    return shorten(" ".join(text.split()), 300)


def error_class(exc: BaseException) -> type[ModelCallError]:
    """Which of our error classes an exception from a model call belongs to."""
    if isinstance(exc, ModelCallError):
        return type(exc)
    name = type(exc).__name__
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) or name in ("Timeout", "APITimeoutError"):
        return ProviderTimeout
    status = _status(exc)
    if (status is None or status >= 500) and _TIMEOUT_WORDS.search(str(exc)):
        return ProviderTimeout  # e.g. a read timeout in mid-stream, wrapped as a connection error
    if name == "ContextWindowExceededError":
        return BadRequest
    if status == 429 or name == "RateLimitError":
        return RateLimited
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return AuthenticationFailed
    if status == 404 or name == "NotFoundError":
        return ModelNotFound
    if status == 408:
        return ProviderTimeout
    if status in (400, 413, 422) or name in ("BadRequestError", "UnsupportedParamsError",
                                             "UnprocessableEntityError"):
        return BadRequest
    return ProviderUnavailable  # 5xx, connection errors, broken streams, anything unexpected


def to_model_error(exc: BaseException, model: str, provider: str, known: tuple[str, ...] = ()) -> ModelCallError:
    """One attempt's failure as a `ModelCallError` with a scrubbed, actionable message."""
    if isinstance(exc, ModelCallError):
        return exc
    cls = error_class(exc)
    what = next(text for klass, text in _DESCRIBE if issubclass(cls, klass))
    detail = clean_message(exc, known)
    message = f"Model '{model}' {what}: {detail}"
    return cls(message, model=model, provider=provider, retry_after=retry_after_of(exc),
               status_code=_status(exc))


def final_error(errors: list[ModelCallError], attempts: int) -> ModelCallError:
    """The error raised after every attempt failed: the last failure's class, all models named."""
    last = errors[-1]
    tried = list(dict.fromkeys(e.model for e in errors))
    if len(tried) > 1:
        last_kind = {e.model: e.kind for e in errors}
        summary = "; ".join(f"'{model}': {kind}" for model, kind in last_kind.items())
        text = f"All models failed ({summary}); last error: {last}"
    else:
        text = f"{last} (after {attempts} attempt{'s' if attempts != 1 else ''})"
    return type(last)(text, model=last.model, provider=last.provider, attempts=attempts,
                      retry_after=last.retry_after, status_code=last.status_code)
