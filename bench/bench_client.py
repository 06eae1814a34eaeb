"""Client benchmark: one model call through the engine's seam against a bare `litellm.acompletion`.

    .venv/bin/python -m bench.bench_client                 # defaults below
    .venv/bin/python -m bench.bench_client --pairs 200 --streaming 0.5

Both sides call the same loopback server (`testkit.llm_server`, in a child process) with the same
prompt, inside one LangGraph node whose `custom` stream is consumed as the engine consumes it, and
alternate call by call (the order swaps every pair), so load on the machine hits both alike:

- bare: `litellm.acompletion(stream=True)` with usage on, every chunk read;
- seam: `call_model` as an agent step makes it: `LiteLLMClient.complete` with the circuit breaker,
  retries, usage, cost, the stream redactor, and every token forwarded as a `Token` event through
  the step's emitter to LangGraph's stream writer.

Reported: the medians, the median and p95 of the per-pair difference (target: median <= 2 ms),
the ratio of the medians, CPU per call of each side, and the load average while it ran.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import time
from typing import Any, TypedDict

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench.bench_engine import ANSWER, MODEL, start_server  # noqa: E402
from orchestrator.budget import Budget  # noqa: E402
from orchestrator.circuit import CircuitBreaker  # noqa: E402
from orchestrator.credentials import Credentials  # noqa: E402
from orchestrator.llm import LiteLLMClient, load_litellm  # noqa: E402
from orchestrator.llm_types import LLMRequest, ModelParams  # noqa: E402
from orchestrator.nodes.agent_loop import call_model  # noqa: E402
from orchestrator.nodes.common import ModelTable, RunContext, Usage  # noqa: E402
from orchestrator.policy import Policy  # noqa: E402
from schemas.models import Workflow  # noqa: E402

KEY = "sk-bench-client-0000"
MESSAGES = [{"role": "system", "content": "You are Writer."}, {"role": "user", "content": "Write."}]


class _State(TypedDict):
    done: int


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _bare(litellm: Any, base_url: str) -> tuple[float, float, str]:
    """(wall, cpu, text) of one bare streamed call."""
    wall, cpu = time.perf_counter(), time.process_time()
    stream = await litellm.acompletion(model=MODEL, messages=MESSAGES, api_key=KEY, api_base=base_url,
                                       stream=True, stream_options={"include_usage": True})
    text = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
    return time.perf_counter() - wall, time.process_time() - cpu, "".join(text)


def _context(client: LiteLLMClient) -> RunContext:
    workflow = Workflow.model_validate({"version": 1, "name": "bench-client", "default_model": MODEL,
                                        "agents": {"w": {"role": "Writer"}},
                                        "steps": [{"id": "s", "type": "agent", "agent": "w", "prompt": "Write."}]})
    seq = itertools.count(1)

    def stamp(event: Any) -> Any:
        event.seq = next(seq)
        return event

    return RunContext(run_id="bench", workflow=workflow, client=client, budget=Budget(workflow.limits),
                      policy=Policy(), models=ModelTable(MODEL, {MODEL: ModelParams(MODEL)}), stamp=stamp)


async def _seam(ctx: RunContext) -> tuple[float, float, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await call_model(ctx, LLMRequest(ModelParams(MODEL), list(MESSAGES), step_id="s"), Usage())
    return time.perf_counter() - wall, time.process_time() - cpu, result.text


async def measure(base_url: str, pairs: int) -> dict[str, Any]:
    """Run `pairs` interleaved bare/seam calls inside one graph node; returns the raw figures."""
    from langgraph.graph import END, START, StateGraph

    litellm = load_litellm()
    client = LiteLLMClient(Credentials(keys={"openai": KEY}, api_bases={"openai": base_url}), CircuitBreaker())
    ctx = _context(client)
    out: dict[str, Any] = {"bare": [], "seam": [], "bare_cpu": [], "seam_cpu": [], "events": 0}

    async def node(state: _State) -> dict[str, int]:
        for _ in range(5):  # warm-up: the connection pool, LiteLLM's lazy modules, the price map
            await _bare(litellm, base_url)
            await _seam(ctx)
        for i in range(pairs):
            order = ("bare", "seam") if i % 2 == 0 else ("seam", "bare")
            for side in order:
                wall, cpu, text = await (_bare(litellm, base_url) if side == "bare" else _seam(ctx))
                assert text == ANSWER, text
                out[side].append(wall)
                out[f"{side}_cpu"].append(cpu)
        return {"done": 1}

    graph = StateGraph(_State)
    graph.add_node("calls", node)
    graph.add_edge(START, "calls")
    graph.add_edge("calls", END)
    compiled = graph.compile()
    async for chunk in compiled.astream({"done": 0}, {"recursion_limit": 8}, stream_mode=["custom", "updates"],
                                        version="v2"):
        if chunk["type"] == "custom":
            out["events"] += 1
    return out


def report(figures: dict[str, Any], pairs: int, load: tuple[float, float, float]) -> None:
    bare, seam = figures["bare"], figures["seam"]
    diffs = [(s - b) * 1000 for s, b in zip(seam, bare, strict=True)]
    b_med, s_med = statistics.median(bare), statistics.median(seam)
    print(f"client call, {pairs} interleaved pairs (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):")
    print(f"    bare litellm.acompletion(stream=True): median {b_med * 1000:.1f} ms, p95 {_percentile(bare, .95) * 1000:.1f} ms")
    print(f"    engine seam (call_model):             median {s_med * 1000:.1f} ms, p95 {_percentile(seam, .95) * 1000:.1f} ms")
    print(f"    seam - bare per pair: median {statistics.median(diffs):+.2f} ms (target <= 2), "
          f"p95 {_percentile(diffs, .95):+.2f} ms; ratio of medians {s_med / b_med:.3f}")
    print(f"    CPU per call: bare {statistics.median(figures['bare_cpu']) * 1000:.2f} ms, "
          f"seam {statistics.median(figures['seam_cpu']) * 1000:.2f} ms; "
          f"{figures['events'] / (pairs + 5):.1f} stream events per seam call")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency per call, seconds")
    parser.add_argument("--streaming", type=float, default=0.0,
                        help="share of the latency spent streaming the chunks (0: every chunk at the end)")
    args = parser.parse_args(argv)
    server, base_url = start_server(args.latency, args.streaming)
    try:
        before = os.getloadavg()
        figures = asyncio.run(measure(base_url, args.pairs))
        after = os.getloadavg()
    finally:
        server.kill()
    report(figures, args.pairs, tuple(max(a, b) for a, b in zip(before, after, strict=True)))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
