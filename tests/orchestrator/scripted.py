"""A scripted in-process `ModelClient`: replies in order (or per step), loud on unexpected calls.

For unit tests of the engine's control flow; the integration tests go through LiteLLM to the
loopback HTTP server instead.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.events import LLMCall
from orchestrator.llm_types import LLMRequest, LLMResult, OnAttempt, OnToken, ToolCallRequest


@dataclass
class Say:
    """One scripted answer; `error` is raised instead (after its LLMCall attempt is reported)."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    tokens_in: int = 10
    tokens_out: int = 5
    cost_usd: float = 0.0
    delay: float = 0.0
    error: Exception | None = None

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Say:
        return cls(text=json.dumps(value), **kwargs)


class ScriptedClient:
    def __init__(self, *replies: Say, by_step: dict[str, list[Say]] | None = None,
                 responder: Callable[[LLMRequest], Say] | None = None) -> None:
        self.queue: deque[Say] = deque(replies)
        self.by_step = {k: deque(v) for k, v in (by_step or {}).items()}
        self.responder = responder
        self.requests: list[LLMRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def _next(self, request: LLMRequest) -> Say:
        step_queue = self.by_step.get(request.step_id or "")
        if step_queue:
            return step_queue.popleft()
        if self.queue:
            return self.queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        raise AssertionError(f"unexpected model call for step {request.step_id!r}: {request.messages[-1]}")

    async def complete(self, request: LLMRequest, on_token: OnToken | None = None,
                       on_attempt: OnAttempt | None = None) -> LLMResult:
        self.requests.append(request)
        say = self._next(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if say.delay:
                await asyncio.sleep(say.delay)
        finally:
            self.in_flight -= 1
        model = request.params.model
        if say.error is not None:
            if on_attempt:
                on_attempt(LLMCall(run_id="", model=model, error=str(say.error)))
            raise say.error
        for i, piece in enumerate(say.text.split(" ")):
            if on_token and piece:
                on_token(piece if i == 0 else " " + piece)
        if on_attempt:
            on_attempt(LLMCall(run_id="", model=model, tokens_in=say.tokens_in, tokens_out=say.tokens_out,
                               cost_usd=say.cost_usd))
        calls = [ToolCallRequest(id=f"call_{i}", name=name, arguments=args if isinstance(args, str) else json.dumps(args))
                 for i, (name, args) in enumerate(say.tool_calls)]
        return LLMResult(text=say.text, model=model, tool_calls=calls, tokens_in=say.tokens_in,
                         tokens_out=say.tokens_out, cost_usd=say.cost_usd)

    def assert_all_used(self) -> None:
        left = len(self.queue) + sum(len(q) for q in self.by_step.values())
        assert left == 0, f"{left} scripted replies were never used"
