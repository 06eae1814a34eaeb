"""What the loopback LLM server answers: scripted replies, faults, and OpenAI-shaped payloads.

Kept apart from the HTTP plumbing so a test reads `Reply(text="hi", fault="rate_limit")` and the
wire format (OpenAI chat completions, SSE chunks, tool-call deltas) lives in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Fault = Literal[
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "unavailable",  # 503
    "hang",  # never answers (the client's read timeout fires)
    "disconnect",  # closes the connection before any byte
    "cut_stream",  # streams part of the reply, then drops the connection
    "bad_tool_json",  # tool-call arguments that are not valid JSON
    "auth",  # 401 whose message echoes the key it was sent (as some providers do)
    "bad_request",  # 400
]
FAULTS: tuple[str, ...] = Fault.__args__  # type: ignore[attr-defined]
_TOKEN_RE = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True)
class ToolCallSpec:
    """One tool call the scripted model makes; `arguments` may be a dict or raw JSON text."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `usage=None` computes plausible counts; `usage=False` sends none."""

    text: str = ""
    tool_calls: tuple[ToolCallSpec | dict[str, Any], ...] | list[Any] = ()
    fault: Fault | None = None
    latency: float = 0.0  # seconds before the first byte
    chunk_delay: float = 0.0  # seconds between stream chunks
    tokens_per_second: float | None = None  # overrides chunk_delay (UI benchmarks)
    usage: dict[str, int] | Literal[False] | None = None
    retry_after: float = 1.0  # for fault="rate_limit"
    status: int | None = None  # overrides the fault's HTTP status
    message: str | None = None  # overrides the fault's error message
    hang_seconds: float = 120.0  # for fault="hang"
    # Stream `held_after` words, then wait until the test sets `hold` (a step that is still going on
    # for as long as the test needs, however slowly a loaded machine gets there; bounded by `hang_seconds`).
    hold: threading.Event | None = field(default=None, compare=False)
    held_after: int = 0

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Reply:
        """A reply whose text is `value` as JSON, for structured-output tests."""
        return cls(text=json.dumps(value), **kwargs)

    def tools(self) -> list[ToolCallSpec]:
        specs = [t if isinstance(t, ToolCallSpec) else ToolCallSpec(**t) for t in self.tool_calls]
        out = []
        for i, spec in enumerate(specs):
            args: dict[str, Any] | str = spec.arguments
            if self.fault == "bad_tool_json":
                args = spec.arguments_text()[:-1] + ',"'  # cut: never valid JSON
            digest = hashlib.sha1(f"{spec.name}{spec.arguments_text()}".encode()).hexdigest()[:8]
            out.append(ToolCallSpec(spec.name, args, spec.id or f"call_{i}_{digest}"))  # deterministic
        return out

    def pieces(self) -> list[str]:
        """The text split into stream tokens (a word with its leading space)."""
        return _TOKEN_RE.findall(self.text)

    def delay_between_chunks(self) -> float:
        if self.tokens_per_second:
            return 1.0 / self.tokens_per_second
        return self.chunk_delay


def count_tokens(messages: list[dict[str, Any]]) -> int:
    """A rough, deterministic prompt size: words plus a few per message."""
    total = 0
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, list):
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        total += 4 + len(str(content or "").split())
    return total


def usage_of(reply: Reply, messages: list[dict[str, Any]]) -> dict[str, int] | None:
    if reply.usage is False:
        return None
    if reply.usage is not None:
        usage = dict(reply.usage)
        usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        return usage
    prompt = count_tokens(messages)
    completion = max(1, len(reply.pieces())) + sum(len(t.arguments_text()) // 4 + 1 for t in reply.tools())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(reply: Reply, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A non-streamed `chat.completion` object."""
    tools = reply.tools()
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if tools:
        message["tool_calls"] = [
            {"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments_text()}}
            for t in tools
        ]
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tools else "stop"}],
    }
    usage = usage_of(reply, messages)
    if usage is not None:
        body["usage"] = usage
    return body


def stream_chunks(reply: Reply, model: str, messages: list[dict[str, Any]], include_usage: bool) -> list[dict]:
    """The `chat.completion.chunk` objects of a streamed reply, in order (without `[DONE]`)."""
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in reply.pieces()]
    tools = reply.tools()
    for i, tool in enumerate(tools):
        head = {"index": i, "id": tool.id, "type": "function", "function": {"name": tool.name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [head]}))
        text = tool.arguments_text()
        for start in range(0, len(text), 8):
            chunks.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": text[start:start + 8]}}]}))
    chunks.append(chunk({}, "tool_calls" if tools else "stop"))
    usage = usage_of(reply, messages)
    if include_usage and usage is not None:
        chunks.append({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [], "usage": usage})
    return chunks


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def echo_reply(messages: list[dict[str, Any]]) -> Reply:
    """The deterministic default answer: repeats the last user message."""
    last = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": ""})
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return Reply(text=f"echo: {content or ''}")
