"""Engine benchmark: per-step overhead against a hand-written LangGraph graph, and the 32-way fan-out.

    .venv/bin/python -m bench.bench_engine            # defaults below
    .venv/bin/python -m bench.bench_engine --latency 0.05 --steps 10 --repeats 5

Everything talks to the same loopback OpenAI-compatible server (`testkit.llm_server`, in a child
process so it does not compete for this process's GIL) through the same `LiteLLMClient`, so the
only difference between the two sides of a ratio is the code under test.

(a) A workflow of `--steps` sequential agent steps, each one streamed call taking `--latency` s,
    run by the `Engine` (events, sinks, budgets, SQLite checkpoints) versus a hand-written
    `StateGraph` with one node per step making the same calls (same prompts, streaming tokens
    through `get_stream_writer`, same AsyncSqliteSaver). Reported: median wall time of each, the
    ratio (target <= 1.15) and the engine's extra milliseconds per step.
(b) A `parallel` step of 32 agent branches whose calls each take `--fanout-latency` s, measured
    twice: with every chunk sent at the end of the call (no waiting left to overlap the client's
    CPU work with: the worst case) and with the last `--streaming` share of the call spent
    streaming, as providers do (the first token comes early, the rest trickles). Reported:
    the parallel step's wall time divided by one such call's latency measured alone (target
    <= 1.5; 32 sequential calls would be 32), and, as a second baseline, the same 32 calls made
    with a bare `asyncio.gather` on the client: what the client itself allows on this machine; and
    the engine with a client that only sleeps, which isolates the engine's own scheduling.
    Then the CPU this process spends (all of it on one core at a time: the GIL): per call in the
    gather, per branch in the engine, and LiteLLM's streaming cost split into a fixed part per call
    and a part per SSE chunk (sequential calls with 1 and 81 words, no server latency). A fan-out of
    N calls takes about latency + N x CPU per branch (some set-up overlaps the wait): that estimate
    is printed as a ratio, with the CPU per branch that 1.5 would need.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from orchestrator.credentials import Credentials  # noqa: E402
from orchestrator.llm import LiteLLMClient  # noqa: E402
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams  # noqa: E402
from orchestrator.policy import Policy  # noqa: E402
from orchestrator.runner import Engine  # noqa: E402
from schemas.models import Workflow  # noqa: E402
from testkit.llm_server import LLMServer  # noqa: E402
from testkit.replies import Reply  # noqa: E402

MODEL = "openai/gpt-4o-mini"
ANSWER = "The tide rises twice a day because the moon and the sun pull on the oceans of the earth."


def _merge(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    return {**left, **right}


class State(TypedDict):
    outputs: Annotated[dict[str, str], _merge]


def sequential_workflow(steps: int) -> Workflow:
    return Workflow.model_validate({
        "version": 1, "name": "bench-seq", "default_model": MODEL,
        "agents": {"w": {"role": "Writer"}},
        "steps": [{"id": f"s{i}", "type": "agent", "agent": "w", "prompt": f"step {i}"} for i in range(steps)],
    })


def fanout_workflow(branches: int) -> Workflow:
    return Workflow.model_validate({
        "version": 1, "name": "bench-fanout", "default_model": MODEL,
        "agents": {"w": {"role": "Writer"}},
        "steps": [{"id": "fan", "type": "parallel", "branches": [
            {"id": f"b{i}", "type": "agent", "agent": "w", "prompt": f"branch {i}"} for i in range(branches)]}],
    })


async def run_engine(engine: Engine, workflow: Workflow) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    events = [event async for event in engine.run(workflow, {})]
    assert events[-1].type == "run_finished", events[-1]
    return time.perf_counter() - started, events


async def run_baseline(client: LiteLLMClient, steps: int, db: Path, thread: str) -> float:
    """The same calls in a hand-written graph: one node per step, tokens via the stream writer."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.config import get_stream_writer
    from langgraph.graph import END, START, StateGraph

    def node(i: int) -> Any:
        async def call(state: State) -> dict[str, Any]:
            writer = get_stream_writer()
            messages = [{"role": "system", "content": "You are Writer."}, {"role": "user", "content": f"step {i}"}]
            result = await client.complete(LLMRequest(ModelParams(MODEL), messages, step_id=f"s{i}"),
                                           on_token=writer, on_attempt=writer)
            return {"outputs": {f"s{i}": result.text}}

        return call

    graph = StateGraph(State)
    for i in range(steps):
        graph.add_node(f"s{i}", node(i))
        graph.add_edge(START if i == 0 else f"s{i - 1}", f"s{i}")
    graph.add_edge(f"s{steps - 1}", END)
    started = time.perf_counter()
    async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
        compiled = graph.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": thread}, "recursion_limit": 3 * steps + 16}
        async for _chunk in compiled.astream({"outputs": {}}, config, stream_mode=["custom", "updates"],
                                             version="v2"):
            pass
    return time.perf_counter() - started


class SleepClient:
    """A model client that only waits (no HTTP, no LiteLLM): isolates the engine's own scheduling."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def complete(self, request: LLMRequest, on_token: Any = None, on_attempt: Any = None) -> LLMResult:
        await asyncio.sleep(self.latency)
        return LLMResult(text=ANSWER, model=request.params.model, tokens_in=10, tokens_out=20)


async def single_call(client: LiteLLMClient) -> float:
    started = time.perf_counter()
    await client.complete(LLMRequest(ModelParams(MODEL), [{"role": "user", "content": "one"}]))
    return time.perf_counter() - started


PROBE = "cpu-probe"
PROBE_WORDS = (1, 81)


def _reply(req: Any, latency: float, streaming: float) -> Reply:
    """ANSWER in `latency` s, the last `streaming` share of it spent streaming the chunks; the prompt
    "cpu-probe N" gets N words at once (for the CPU probe)."""
    words = str(req.messages[-1].get("content") or "").split() if req.messages else []
    if len(words) == 2 and words[0] == PROBE:
        return Reply(text=" ".join(["tide"] * int(words[1])))
    chunks = len(Reply(text=ANSWER).pieces())
    return Reply(text=ANSWER, latency=latency * (1 - streaming), chunk_delay=latency * streaming / chunks)


async def cpu_per_call(client: LiteLLMClient, words: int, calls: int = 60) -> float:
    """CPU seconds of this process per streamed call whose reply has `words` content chunks."""
    request = LLMRequest(ModelParams(MODEL), [{"role": "user", "content": f"{PROBE} {words}"}])
    await client.complete(request)
    started = time.process_time()
    for _ in range(calls):
        await client.complete(request)
    return (time.process_time() - started) / calls


def _serve(port: int, latency: float, streaming: float, ready: Any) -> None:
    """The loopback server in its own process, so its work does not share our GIL."""
    server = LLMServer(port=port, default=functools.partial(_reply, latency=latency, streaming=streaming)).start()
    ready.set()
    threading.Event().wait()
    server.stop()


def start_server(latency: float, streaming: float = 0.0) -> tuple[Any, str]:
    ctx = multiprocessing.get_context("spawn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready = ctx.Event()
    process = ctx.Process(target=_serve, args=(port, latency, streaming, ready), daemon=True)
    process.start()
    if not ready.wait(120):
        raise RuntimeError("the loopback LLM server did not start")
    return process, f"http://127.0.0.1:{port}/v1"


def make_engine(base_url: str, data_dir: Path) -> tuple[Engine, LiteLLMClient]:
    credentials = Credentials(keys={"openai": "sk-bench"}, api_bases={"openai": base_url})
    client = LiteLLMClient(credentials)
    return Engine(data_dir=data_dir, client=client, credentials=credentials, policy=Policy(),
                  sinks=[lambda e: None]), client


async def fanout(args: argparse.Namespace, tmp: Path, streaming: float) -> None:
    """(b) for one stream shape: `streaming` = the share of each call spent streaming its chunks."""
    server, base_url = start_server(args.fanout_latency, streaming)
    try:
        engine, client = make_engine(base_url, tmp)
        one = statistics.median([await single_call(client) for _ in range(3)])
        fan = fanout_workflow(args.branches)
        await run_engine(engine, fan)  # warm-up: 32 pooled connections
        walls, steps, gathers = [], [], []
        engine_cpu = gather_cpu = 0.0
        for _ in range(args.repeats):  # alternating, so a change in the machine's load hits both alike
            cpu = time.process_time()
            wall, events = await run_engine(engine, fan)
            engine_cpu += (time.process_time() - cpu) / args.repeats / args.branches
            walls.append(wall)
            steps.append(next(ev.duration_s for ev in events if ev.type == "step_finished" and ev.step_id == "fan"))
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client.complete(LLMRequest(ModelParams(MODEL), [  # the client alone, no engine
                {"role": "user", "content": f"branch {i}"}])) for i in range(args.branches)))
            gathers.append(time.perf_counter() - started)
            gather_cpu += (time.process_time() - cpu) / args.repeats / args.branches
        gathered = statistics.median(gathers)
        step_wall, run_wall = statistics.median(steps), statistics.median(walls)
        shape = (f"first chunk after {(1 - streaming) * args.fanout_latency * 1000:.0f} ms, the rest over "
                 f"{streaming * args.fanout_latency * 1000:.0f} ms" if streaming else "every chunk at the end")
        print(f"(b) {args.branches} parallel branches, one call alone = {one:.3f} s "
              f"({args.fanout_latency * 1000:.0f} ms server latency, {shape}):")
        print(f"    parallel step wall = {step_wall:.3f} s -> ratio {step_wall / one:.2f} (target <= 1.5); "
              f"whole run = {run_wall:.3f} s -> {run_wall / one:.2f}; sequential would be {args.branches}")
        print(f"    the same {args.branches} calls with asyncio.gather and no engine: {gathered:.3f} s -> "
              f"{gathered / one:.2f} (the client's own ceiling); engine fan-out / gather = {step_wall / gathered:.2f} "
              f"(target <= 1.05; load average {os.getloadavg()[0]:.2f})")
        sleeper = Engine(data_dir=tmp, client=SleepClient(args.fanout_latency), credentials=client.credentials,
                         policy=Policy(), sinks=[lambda e: None])
        await run_engine(sleeper, fan)
        sleeps = []
        cpu = time.process_time()
        for _ in range(args.repeats):
            _wall, events = await run_engine(sleeper, fan)
            sleeps.append(next(ev.duration_s for ev in events if ev.type == "step_finished" and ev.step_id == "fan"))
        sleeper_cpu = (time.process_time() - cpu) / args.repeats / args.branches
        print(f"    the engine alone (a client that only sleeps {args.fanout_latency * 1000:.0f} ms): parallel step "
              f"{statistics.median(sleeps):.3f} s -> {statistics.median(sleeps) / args.fanout_latency:.2f}")
        short, long = [await cpu_per_call(client, words) for words in PROBE_WORDS]
        per_chunk = (long - short) / (PROBE_WORDS[1] - PROBE_WORDS[0])
        chunks = len(Reply(text=ANSWER).pieces()) + 3  # + the role, finish and usage chunks
        fixed = short - (PROBE_WORDS[0] + 3) * per_chunk
        floor = args.fanout_latency + args.branches * engine_cpu
        budget = (1.5 * one - args.fanout_latency) / args.branches
        print(f"    CPU of this process (one core at a time: the GIL): {gather_cpu * 1000:.1f} ms per call in the "
              f"gather; per branch {engine_cpu * 1000:.1f} ms with LiteLLM, {sleeper_cpu * 1000:.1f} ms with the "
              "sleeping client")
        print(f"    one call at a time through LiteLLM: {fixed * 1000:.1f} ms per call + {per_chunk * 1000:.2f} ms per SSE "
              f"chunk; {chunks} chunks per reply here -> {(fixed + chunks * per_chunk) * 1000:.1f} ms per call")
        print(f"    CPU-bound estimate: {args.fanout_latency * 1000:.0f} ms + {args.branches} x {engine_cpu * 1000:.1f} ms "
              f"= {floor:.3f} s -> ratio ~{floor / one:.2f}; 1.5 needs <= {budget * 1000:.1f} ms CPU per branch")
    finally:
        server.kill()


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    server, base_url = start_server(args.latency)
    try:
        engine, client = make_engine(base_url, tmp)
        seq = sequential_workflow(args.steps)
        await run_engine(engine, seq)  # warm-up: imports, LiteLLM's lazy modules, the connection pool
        await run_baseline(client, args.steps, tmp / "baseline.sqlite", "warm")
        engine_times, baseline_times = [], []
        for r in range(args.repeats):
            baseline_times.append(await run_baseline(client, args.steps, tmp / "baseline.sqlite", f"b{r}"))
            engine_times.append((await run_engine(engine, seq))[0])
        e, b = statistics.median(engine_times), statistics.median(baseline_times)
        print(f"(a) {args.steps} sequential steps, {args.latency * 1000:.0f} ms per call, median of {args.repeats}:")
        print(f"    hand-written LangGraph graph: {b:.3f} s   engine: {e:.3f} s")
        print(f"    ratio engine/baseline = {e / b:.3f} (target <= 1.15); "
              f"engine overhead = {(e - b) / args.steps * 1000:.1f} ms per step")

        server.kill()
        for streaming in (0.0, args.streaming):
            await fanout(args, tmp, streaming)
    finally:
        server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per call in (a), seconds")
    parser.add_argument("--branches", type=int, default=32)
    parser.add_argument("--fanout-latency", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--streaming", type=float, default=0.5,
                        help="(b) is run twice: every chunk at the end of the call, then the last STREAMING share of "
                             "each call spent streaming its chunks, as a provider does")
    asyncio.run(main(parser.parse_args()))
