"""A loopback OpenAI-compatible chat server for tests and benchmarks.

It proves the real LiteLLM path (HTTP, SSE, retries, timeouts) without a provider: tests script
replies and faults in order, the server records every request, and an empty script answers with a
configurable default (by default an HTTP 500 so unexpected calls are loud). It runs its own event loop
in a background thread, so dozens of slow requests are served truly concurrently.

    with LLMServer() as server:
        server.script(Reply(text="Hello there"), Reply(fault="rate_limit", retry_after=0.1))
        ... LiteLLM with model="openai/test", api_base=server.base_url ...
        server.assert_all_used()

Standalone: `python -m testkit.llm_server --port 8765 --default echo`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testkit.replies import (
    FAULTS,
    Reply,
    completion_body,
    echo_reply,
    error_body,
    stream_chunks,
)

Default = str | Callable[["RecordedRequest"], Reply]  # "fail" | "echo" | a function of the request
_FAULT_STATUS = {"rate_limit": 429, "server_error": 500, "unavailable": 503, "auth": 401, "bad_request": 400}


@dataclass
class RecordedRequest:
    """One request as the server saw it (headers include `Authorization`, for key-handling tests)."""

    path: str
    model: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


class LLMServer:
    """The server; `start()` binds 127.0.0.1 on a free port (or `port`) in a daemon thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", default: Default = "fail") -> None:
        self.host, self.port = host, port
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[RecordedRequest] = []
        self.in_flight = 0  # requests being answered right now
        self.max_in_flight = 0  # the most at once since the last reset: proof of concurrency
        self._default: Default = default
        self._queue: deque[Reply] = deque()
        self._by_model: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._fault_rng: random.Random | None = None
        self._fault_probability = 0.0
        self._fault_kinds: tuple[str, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply, model: str | None = None) -> LLMServer:
        """Queue replies in order; with `model`, only requests for that model take them."""
        with self._lock:
            queue = self._queue if model is None else self._by_model.setdefault(model, deque())
            queue.extend(replies)
        return self

    def script_many(self, replies: Iterable[Reply], model: str | None = None) -> LLMServer:
        return self.script(*replies, model=model)

    def set_default(self, default: Default) -> None:
        """What an empty script answers: "fail" (HTTP 500), "echo", or a function of the request."""
        if isinstance(default, str) and default not in ("fail", "echo"):
            raise ValueError(f"default must be 'fail', 'echo' or a callable, not {default!r}")
        self._default = default

    def inject_faults(self, probability: float, seed: int = 0, faults: Iterable[str] = ("rate_limit",
                      "server_error", "unavailable", "disconnect")) -> None:
        """Before any scripted reply, fail each request with `probability` (seeded, reproducible)."""
        kinds = tuple(faults)
        unknown = set(kinds) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; choose from {list(FAULTS)}")
        self._fault_rng, self._fault_probability, self._fault_kinds = random.Random(seed), probability, kinds

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + sum(len(q) for q in self._by_model.values())

    def assert_all_used(self, allow_unexpected: bool = False) -> None:
        """Fail when scripted replies were left over or (unless allowed) unscripted calls came in."""
        with self._lock:
            left = list(self._queue) + [r for q in self._by_model.values() for r in q]
        assert not left, f"{len(left)} scripted replies were never requested: {left}"
        if not allow_unexpected:
            assert not self.unexpected, f"unexpected requests: {[r.model for r in self.unexpected]}"

    def reset(self) -> None:
        """Forget scripts, recordings and fault injection; back to the "fail" default."""
        with self._lock:
            self._queue.clear()
            self._by_model.clear()
            self.requests.clear()
            self.unexpected.clear()
        self.max_in_flight = self.in_flight
        self._default, self._fault_rng, self._fault_probability = "fail", None, 0.0

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as LiteLLM's `api_base`."""
        return f"{self.url}/v1"

    def start(self) -> LLMServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="llm-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the loopback LLM server did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._loop = self._runner = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, shutdown_timeout=0.5)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = loop
        ready.set()
        loop.run_forever()
        loop.close()

    # --- handlers --------------------------------------------------------------------------
    def _next_reply(self, req: RecordedRequest) -> Reply | None:
        with self._lock:
            if self._fault_rng and self._fault_rng.random() < self._fault_probability:
                return Reply(fault=self._fault_rng.choice(self._fault_kinds), retry_after=0.05)  # type: ignore[arg-type]
            queue = self._by_model.get(req.model)
            if queue:
                return queue.popleft()
            if self._queue:
                return self._queue.popleft()
        if callable(self._default):
            return self._default(req)
        if self._default == "echo":
            return echo_reply(req.messages)
        self.unexpected.append(req)
        return None

    async def _models(self, request: web.Request) -> web.Response:
        with self._lock:
            names = {"test-model", *self._by_model, *(r.model for r in self.requests if r.model)}
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "testkit"} for n in sorted(names)]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1  # handlers all run on the server's loop thread: no lock needed
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        req = RecordedRequest(path=request.path, model=str(body.get("model", "")),
                              messages=list(body.get("messages") or []), tools=body.get("tools"),
                              stream=bool(body.get("stream")), headers=dict(request.headers), body=body)
        with self._lock:
            self.requests.append(req)
        reply = self._next_reply(req)
        if reply is None:
            msg = f"testkit: unexpected request for model {req.model!r}: no scripted reply left"
            return web.json_response(error_body(msg, "server_error"), status=500)
        if reply.latency:
            await asyncio.sleep(reply.latency)
        if reply.fault and reply.fault not in ("cut_stream", "bad_tool_json"):
            return await self._fault(request, req, reply)
        if not req.stream:
            return web.json_response(completion_body(reply, req.model, req.messages))
        return await self._stream(request, req, reply)

    async def _fault(self, request: web.Request, req: RecordedRequest, reply: Reply) -> web.StreamResponse:
        if reply.fault == "hang":
            await asyncio.sleep(reply.hang_seconds)
        if reply.fault in ("hang", "disconnect"):
            request.transport.close()  # type: ignore[union-attr]
            raise asyncio.CancelledError
        status = reply.status or _FAULT_STATUS[str(reply.fault)]
        headers: dict[str, str] = {}
        if reply.fault == "rate_limit":
            after = reply.retry_after
            headers = {"Retry-After": str(int(after)) if after == int(after) else f"{after:g}",
                       "retry-after-ms": str(int(after * 1000))}
        message = reply.message or {
            "rate_limit": "Rate limit reached for requests. Please try again later.",
            "server_error": "The server had an error while processing your request.",
            "unavailable": "The engine is currently overloaded, please try again later.",
            "auth": f"Incorrect API key provided: {request.headers.get('Authorization', '')}.",
            "bad_request": "Invalid request: 'messages' is malformed.",
        }[str(reply.fault)]
        kind = {401: "invalid_request_error", 429: "rate_limit_error", 400: "invalid_request_error"}
        return web.json_response(error_body(message, kind.get(status, "server_error")), status=status,
                                 headers=headers)

    async def _stream(self, request: web.Request, req: RecordedRequest, reply: Reply) -> web.StreamResponse:
        include_usage = bool((req.body.get("stream_options") or {}).get("include_usage"))
        chunks = stream_chunks(reply, req.model, req.messages, include_usage)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        delay = reply.delay_between_chunks()
        cut_at = max(2, len(chunks) // 2) if reply.fault == "cut_stream" else None
        for i, chunk in enumerate(chunks):
            if cut_at is not None and i == cut_at:
                request.transport.close()  # type: ignore[union-attr]
                raise asyncio.CancelledError
            if delay and i > 0:
                await asyncio.sleep(delay)
            if reply.hold is not None and i == reply.held_after + 1:  # chunk 0 carries the role only
                await asyncio.to_thread(reply.hold.wait, reply.hang_seconds)
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m testkit.llm_server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--default", choices=["echo", "fail"], default="echo")
    parser.add_argument("--tokens-per-second", type=float, default=None,
                        help="stream the echo reply at this rate (for UI benchmarks)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the echo reply's first byte")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server = LLMServer(port=args.port, host=args.host, default=args.default)
    if args.tokens_per_second or args.latency:
        tps, latency = args.tokens_per_second, args.latency
        server.set_default(lambda req: Reply(text=echo_reply(req.messages).text, tokens_per_second=tps,
                                             latency=latency))
    server.start()
    print(f"testkit LLM server on {server.base_url} (default: {args.default}); Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
