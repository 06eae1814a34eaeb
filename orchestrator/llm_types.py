"""The one seam every model call goes through (engine and chat alike).

`ModelClient.complete` takes an `LLMRequest` and returns an `LLMResult`; the LiteLLM-backed client
does streaming, retries, fallbacks and costing behind it, and tests use a scripted client or the
loopback HTTP server. Keeping the seam this small is what lets both be swapped freely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ModelParams:
    """Resolved call parameters of one model (an alias from the config, or a bare model string)."""

    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 60.0
    retries: int = 2
    fallbacks: tuple[ModelParams, ...] = ()
    context_window: int | None = None  # prompt tokens it accepts, when the config says (else LiteLLM's info)


@dataclass
class LLMRequest:
    params: ModelParams
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None  # OpenAI function-tool specs
    json_schema: dict[str, Any] | None = None  # structured output wanted (fields declared by the agent)
    step_id: str | None = None


@dataclass
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # raw JSON text as the model produced it


@dataclass
class LLMResult:
    text: str
    model: str  # the model that actually answered (after fallbacks)
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    unpriced: bool = False
    synthetic: bool = False
    latency_s: float = 0.0
    ttft_s: float | None = None
    attempts: int = 1


OnToken = Callable[[str], None]
OnAttempt = Callable[[Any], None]  # receives orchestrator.events.LLMCall for every attempt


class ModelClient(Protocol):
    async def complete(
        self, request: LLMRequest, on_token: OnToken | None = None, on_attempt: OnAttempt | None = None
    ) -> LLMResult: ...


AsyncCompleter = Callable[[LLMRequest], Awaitable[LLMResult]]
