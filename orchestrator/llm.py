"""The LiteLLM-backed `ModelClient`: streaming, retries, fallbacks, circuit breaking, costing.

Every model call of the engine and the chat goes through `LiteLLMClient.complete`. Keys and
endpoints are passed per call from the session's `Credentials` (never via os.environ), every
attempt is reported as an `LLMCall` event, and the final failure is one `ModelCallError` subclass
whose message is scrubbed of secrets and says what to do.

A retried attempt streams its tokens again from the start: consumers that show partial text should
drop it when an `LLMCall` event with an `error` arrives.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import gc
import json
import logging
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator import foreground
from orchestrator.circuit import CircuitBreaker, circuit_key
from orchestrator.credentials import Credentials
from orchestrator.errors import CircuitOpen, ModelCallError
from orchestrator.events import LLMCall
from orchestrator.lazy_encoding import defer_default_encoding
from orchestrator.llm_retry import Backoff, final_error, to_model_error
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams, OnAttempt, OnToken, ToolCallRequest
from orchestrator.offline_model import is_offline, register_offline_provider
from orchestrator.offline_synth import SCHEMA_MARKER
from orchestrator.pricing import cost_of, count_prompt_tokens, count_text_tokens
from orchestrator.providers import provider_of
from orchestrator.redaction import StreamRedactor, without_known
from orchestrator.secrets import RedactingFilter

_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")
_JSON_MODE_PROVIDERS = frozenset({"openai", "azure", "groq", "mistral", "deepseek", "ollama_chat", "ollama",
                                  "gemini", "fireworks_ai", "together_ai", "xai", "openrouter"})


def load_litellm() -> Any:
    """Import LiteLLM configured for offline, quiet, key-safe use (import is slow: call lazily).

    LiteLLM's import, left in its default mode, loads the first `.env` file found above its own
    package into `os.environ`, at whatever moment the import happens (mid-run, since it is lazy), so
    settings would change under a running process. `LITELLM_MODE=PRODUCTION` turns that off: the
    environment is what the process was started with.

    Two settings are about CPU, which bounds how many streams one event loop can serve at once:

    - OpenAI-compatible providers go through LiteLLM's own HTTP handler rather than the openai SDK
      (`EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER`; set it to `False` to go back): the SDK builds a
      pydantic object per SSE chunk, slowly, which LiteLLM then converts again. Measured here: about
      a quarter less CPU per call and per chunk. Requests, usage, tool calls and error
      classes are the same; error bodies arrive as JSON, which `llm_retry` reduces to their message.
    - After the first import, the objects alive then (LiteLLM's, pydantic's, LangGraph's modules:
      ~400k) are frozen out of the garbage collector. Otherwise every full collection walks them
      again: 50-200 ms pauses every few dozen streamed calls, stalling every stream in flight.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER", "True")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # else its import loads a `.env` it finds into os.environ
    import litellm

    litellm.suppress_debug_info = True
    litellm.disable_hf_tokenizer_download = True  # token counting must never download
    litellm.disable_streaming_logging = True  # we report usage ourselves (read on sync streams only)
    litellm.disable_token_counter = True  # only our own counts run it (`pricing._litellm_counting`)
    defer_default_encoding()  # its tokenizer loads when something counts, not at the first call
    for name in _LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    _freeze_long_lived_objects()
    _READY.set()
    return litellm


_READY = threading.Event()  # set once LiteLLM is imported and configured (a thread may be importing it)


def litellm_ready() -> bool:
    return _READY.is_set()


@functools.cache  # once per process (two threads racing on the first call just freeze twice)
def _freeze_long_lived_objects() -> None:
    """Keep the objects alive now (modules, mostly) out of every later garbage collection."""
    # Paused (the CLI, while loading modules): too little garbage to walk 400k objects for. A full
    # collection also stops every thread for ~0.5 s: not while a person's run streams (the app's
    # warm-up may get here during one); the little garbage frozen with the modules is kept.
    if gc.isenabled() and not foreground.active():
        gc.collect()  # what is garbage now must not be frozen
    gc.freeze()
    atexit.register(gc.unfreeze)  # shutdown collects them (else nanobind reports leaks)


def with_schema_instruction(messages: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages plus a system instruction to answer with JSON matching `schema`."""
    instruction = (f"{SCHEMA_MARKER}\n```json\n{json.dumps(schema)}\n```\n"
                   "Output the JSON object only: no prose, no code fences.")
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0]["content"] = f"{out[0]['content']}\n\n{instruction}"
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


@dataclass
class _ToolAcc:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Outcome:
    text: str
    tool_calls: list[ToolCallRequest]
    tokens_in: int
    tokens_out: int
    ttft_s: float | None


def _read(obj: Any, name: str) -> Any:
    """`getattr(obj, name, None)`, but reading a pydantic model's extra fields directly: LiteLLM's
    chunk and delta fields are extras, which pydantic's `__getattr__` serves in microseconds each,
    a few times per streamed chunk."""
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra is not None:
        if name in extra:
            return extra[name]
        if name not in obj.__dict__ and not hasattr(type(obj), name):
            return None
    return getattr(obj, name, None)


class _ConsumerFailed(Exception):
    """Carries an exception raised by `on_token` past the provider-error handling."""


@dataclass
class _StreamState:
    """What the chunks of one streamed attempt add up to."""

    started: float
    on_token: OnToken | None
    known: tuple[str, ...] = ()  # key values the reply may echo: never passed on (see `redaction`)
    ttft: float | None = None
    text: list[str] = field(default_factory=list)
    tools: dict[int, _ToolAcc] = field(default_factory=dict)
    usage: Any = None
    finished: bool = False  # a chunk carried a finish_reason
    complete: bool = False  # the usage came after the finish: nothing more will (see `_attempt`)
    redactor: StreamRedactor = field(init=False)

    def __post_init__(self) -> None:
        self.redactor = StreamRedactor(self.known)

    def _show(self, text: str) -> None:
        if self.on_token is not None and text:
            try:
                self.on_token(text)
            except Exception as exc:  # the consumer's bug, not the provider's: never retried
                raise _ConsumerFailed() from exc

    def finish(self) -> None:
        """Pass on the text held back in case it started a key."""
        self._show(self.redactor.flush())

    def feed(self, chunk: Any) -> None:
        usage = _read(chunk, "usage")
        self.usage = usage or self.usage
        if not chunk.choices:  # the final usage chunk may have none
            self.complete = bool(usage) and self.finished
            return
        choice = chunk.choices[0]
        delta = choice.delta
        content, tool_calls = _read(delta, "content"), _read(delta, "tool_calls")
        self.complete = bool(usage) and self.finished and not (content or tool_calls)
        self.finished = self.finished or bool(_read(choice, "finish_reason"))
        if content or tool_calls:
            self.ttft = self.ttft if self.ttft is not None else time.perf_counter() - self.started
        if content:
            self.text.append(content)
            self._show(self.redactor.feed(content))
        for call in tool_calls or []:
            acc = self.tools.setdefault(call.index or 0, _ToolAcc())
            acc.id = call.id or acc.id
            if call.function is not None:
                acc.name = call.function.name or acc.name
                acc.arguments.append(call.function.arguments or "")

    def outcome(self, model: str, messages: list[dict[str, Any]]) -> _Outcome:
        full = without_known("".join(self.text), self.known)
        calls = [ToolCallRequest(id=a.id or f"call_{i}", name=a.name,
                                 arguments=without_known("".join(a.arguments), self.known))
                 for i, a in sorted(self.tools.items())]
        tokens_in = int(getattr(self.usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(self.usage, "completion_tokens", 0) or 0)
        if not tokens_in:  # the provider reported no usage: count it ourselves
            tokens_in = count_prompt_tokens(model, messages)
        if not tokens_out:
            tokens_out = count_text_tokens(model, full + "".join(c.arguments for c in calls))
        return _Outcome(full, calls, tokens_in, tokens_out, self.ttft)


class _StallWatch:
    """Expires `deadline` once `timeout` s pass without progress.

    Each chunk only notes the time; the timer is re-armed when it fires early, about once per
    `timeout`, rather than moved on every chunk (a cancel and a new timer each).
    """

    def __init__(self, deadline: asyncio.Timeout, timeout: float) -> None:
        self._deadline, self._timeout = deadline, timeout
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + timeout, self._check)

    def progress(self) -> None:
        self._last = self._loop.time()

    def stop(self) -> None:
        self._timer.cancel()

    def _check(self) -> None:
        due = self._last + self._timeout
        if due <= self._loop.time():
            self._deadline.reschedule(self._loop.time())  # the attempt's await raises TimeoutError now
        else:
            self._timer = self._loop.call_at(due, self._check)


async def _in_own_thread(fn: Callable[[], Any]) -> Any:
    """`fn()` in a thread of its own: never queued behind (or holding) a thread of a shared pool."""
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(1, thread_name_prefix="graphwright-import")
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, fn)
    finally:
        executor.shutdown(wait=False)


async def litellm_module() -> Any:
    """`load_litellm()` from a coroutine: the first import takes seconds, so it runs in a thread of
    its own, keeping the event loop (and cancellation) responsive."""
    if _READY.is_set():
        return load_litellm()
    return await _in_own_thread(load_litellm)  # (it waits there if another thread is importing it)


class LiteLLMClient:
    """`ModelClient` over `litellm.acompletion`. One per session (credentials); share the breaker."""

    def __init__(self, credentials: Credentials, breaker: CircuitBreaker | None = None, *,
                 backoff_base: float = 0.5, backoff_cap: float = 8.0, retry_after_cap: float = 30.0,
                 rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.credentials = credentials
        self.breaker = breaker
        self.backoff = Backoff(backoff_base, backoff_cap, retry_after_cap)
        self._rng = rng or random.Random()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"LiteLLMClient({self.credentials!r})"

    async def complete(self, request: LLMRequest, on_token: OnToken | None = None,
                       on_attempt: OnAttempt | None = None) -> LLMResult:
        """Call the model (retrying, then falling back); raise a `ModelCallError` when all fail."""
        errors: list[ModelCallError] = []
        attempt = 0
        started = time.perf_counter()
        known = self.credentials.known_secrets()  # reads the environment: once per call, not per attempt
        for params in (request.params, *request.params.fallbacks):
            provider = provider_of(params.model)
            circuit = circuit_key(params.model, self.credentials.key_for(provider))
            for retry in range(params.retries + 1):
                attempt += 1
                if self.breaker is not None and not self.breaker.allow(circuit):
                    wait = self.breaker.retry_in(circuit)
                    error: ModelCallError = CircuitOpen(
                        f"Model '{params.model}' failed repeatedly; not calling it for another {wait:.0f} s",
                        model=params.model, provider=provider)
                    errors.append(error)
                    self._report(on_attempt, request, params, provider, attempt, error=str(error))
                    break
                t0 = time.perf_counter()
                try:
                    outcome = await self._attempt(params, provider, request, on_token, known)
                except _ConsumerFailed as exc:
                    raise exc.__cause__ from None  # type: ignore[misc]
                except Exception as exc:  # every provider failure becomes a ModelCallError below
                    error = to_model_error(exc, params.model, provider, known)
                    errors.append(error)
                    if self.breaker is not None and error.retryable:
                        self.breaker.record_failure(circuit)
                    self._report(on_attempt, request, params, provider, attempt,
                                 latency=time.perf_counter() - t0, error=str(error))
                    if not error.retryable:
                        break
                    if retry < params.retries:
                        await self._sleep(self.backoff.delay(retry, error.retry_after, self._rng))
                    continue
                if self.breaker is not None:
                    self.breaker.record_success(circuit)
                return self._result(params, provider, request, outcome, attempt, t0, started, on_attempt)
        raise final_error(errors, attempt)

    def _result(self, params: ModelParams, provider: str, request: LLMRequest, outcome: _Outcome,
                attempt: int, t0: float, started: float, on_attempt: OnAttempt | None) -> LLMResult:
        cost = cost_of(params.model, outcome.tokens_in, outcome.tokens_out)
        latency = time.perf_counter() - t0
        self._report(on_attempt, request, params, provider, attempt, outcome=outcome, latency=latency,
                     cost_usd=cost.usd, unpriced=cost.unpriced)
        return LLMResult(text=outcome.text, model=params.model, tool_calls=outcome.tool_calls,
                         tokens_in=outcome.tokens_in, tokens_out=outcome.tokens_out, cost_usd=cost.usd,
                         unpriced=cost.unpriced, synthetic=is_offline(params.model),
                         latency_s=time.perf_counter() - started, ttft_s=outcome.ttft_s, attempts=attempt)

    @staticmethod
    def _report(on_attempt: OnAttempt | None, request: LLMRequest, params: ModelParams, provider: str,
                attempt: int, *, outcome: _Outcome | None = None, latency: float = 0.0,
                cost_usd: float = 0.0, unpriced: bool = False, error: str | None = None) -> None:
        if on_attempt is None:
            return
        on_attempt(LLMCall(
            run_id="", step_id=request.step_id, model=params.model, provider=provider, attempt=attempt,
            tokens_in=outcome.tokens_in if outcome else 0, tokens_out=outcome.tokens_out if outcome else 0,
            cost_usd=cost_usd, unpriced=unpriced, synthetic=is_offline(params.model), latency_s=latency,
            ttft_s=outcome.ttft_s if outcome else None, error=error))

    def _call_kwargs(self, params: ModelParams, provider: str, request: LLMRequest) -> dict[str, Any]:
        messages = request.messages
        kwargs: dict[str, Any] = {
            "model": params.model, "stream": True, "stream_options": {"include_usage": True},
            "timeout": params.timeout, "max_retries": 0, "num_retries": 0, "drop_params": True,
        }
        key, base = self.credentials.key_for(provider), self.credentials.api_base_for(provider)
        if key:
            kwargs["api_key"] = key
        if base:
            kwargs["api_base"] = base
        if params.temperature is not None:
            kwargs["temperature"] = params.temperature
        if params.max_tokens is not None:
            kwargs["max_tokens"] = params.max_tokens
        if request.tools:
            kwargs["tools"] = request.tools
            kwargs["_skip_mcp_handler"] = True  # else LiteLLM imports the optional `mcp` package
        if request.json_schema:
            messages = with_schema_instruction(messages, request.json_schema)
            if is_offline(params.model):
                kwargs["response_format"] = {"type": "json_schema",
                                             "json_schema": {"name": "output", "schema": request.json_schema}}
            elif provider in _JSON_MODE_PROVIDERS:
                kwargs["response_format"] = {"type": "json_object"}
        kwargs["messages"] = messages
        return kwargs

    async def _attempt(self, params: ModelParams, provider: str, request: LLMRequest,
                       on_token: OnToken | None, known: tuple[str, ...]) -> _Outcome:
        litellm = await litellm_module()
        if is_offline(params.model):
            register_offline_provider()
        kwargs = self._call_kwargs(params, provider, request)
        state = _StreamState(time.perf_counter(), on_token, known)
        stream: Any = None
        watch: _StallWatch | None = None
        try:
            async with asyncio.timeout(None) as deadline:  # no progress for `timeout` s fails
                watch = _StallWatch(deadline, params.timeout)
                stream = await litellm.acompletion(**kwargs)
                async for chunk in stream:
                    watch.progress()
                    state.feed(chunk)
                    if state.complete:
                        # The usage chunk follows the finish: the reply is whole. Reading on would
                        # only make LiteLLM rebuild the whole response again and run its logging
                        # callbacks (a thread hop, a deep copy, a task: ~1 ms a call); `aclose` ends it.
                        break
                state.finish()
        finally:
            if watch is not None:
                watch.stop()
            if stream is not None and hasattr(stream, "aclose"):
                with contextlib.suppress(Exception):
                    await stream.aclose()  # release the connection even after a timeout or cancel
        return state.outcome(params.model, kwargs["messages"])
