"""Replay and re-pricing benchmark (issue 17 items 3 and 4a).

    .venv/bin/python -m bench.bench_replay                 # 1,000,000 recorded calls, 5 replays
    .venv/bin/python -m bench.bench_replay --calls 100000  # quicker

1. Re-pricing: `history.reprice.reprice` (per day and per step, every call priced on another model,
   tiers included) over N recorded calls of one owner. Target: < 1 s for 1M calls. Baseline in the
   same run: the same grouping summing only the recorded cost (what the dashboards already do);
   the ratio is the price of pricing.
2. Replay overhead: a workflow of 8 agent steps against the loopback server. Baseline in the same
   run: the workflow run fresh (8 calls). Measured: the replay of every step (`*`, the same 8 calls,
   plus preparing the plan and serving nothing) and the replay of one step (1 call, 7 served), both
   including `prepare_replay` and `compare`. Ratios to the fresh run; medians of `--repeat`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

STEPS = 8
WORKFLOW = "\n".join([
    "version: 2", "name: bench-replay", "default_model: openai/gpt-4o-mini", "agents: {w: {role: Writer}}",
    "steps:", *(f"  - {{id: s{i}, type: agent, agent: w, prompt: 'step {i} {{{{ inputs.topic }}}}'}}"
                for i in range(STEPS)),
    "inputs: {topic: {default: tides}}",
])  # fmt: skip


def _median_s(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_reprice(calls: int, repeat: int) -> None:
    from history.queries import Filters
    from history.reprice import reprice
    from history.store import HistoryStore

    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore.open(tmp, mlflow=False)
        rng = np.random.default_rng(7)
        ts = pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 30 * 86_400, calls), unit="s")
        tin, tout = rng.integers(50, 300_000, calls), rng.integers(10, 2_000, calls)
        frame = pd.DataFrame({
            "run_id": [f"run-{i // 20}" for i in range(calls)], "seq": np.arange(calls), "ts": ts,
            "step_id": [f"step-{i % 12}" for i in range(calls)],
            "model": np.where(rng.random(calls) < 0.05, "my-own/finetune", "openai/gpt-4o-mini"),
            "provider": "openai", "attempt": 1, "tokens_in": tin, "tokens_out": tout,
            "cost_usd": tin * 0.15e-6 + tout * 0.6e-6, "unpriced": False, "synthetic": False,
            "latency_s": 1.0, "ttft_s": 0.2, "error": None, "owner": "alice",
            "workflow": [f"wf-{i % 5}" for i in range(calls)], "segment": 0, "superseded": False,
            "id": np.arange(calls),
        })  # fmt: skip
        frame.loc[frame.model == "my-own/finetune", ["unpriced", "cost_usd"]] = [True, 0.0]
        cur = store.read_cursor()
        cur.register("f", frame)
        cur.execute("INSERT INTO llm_calls BY NAME SELECT * FROM f")
        cur.unregister("f")
        f = Filters(owner="alice")
        reprice(cur, f, "gemini/gemini-2.5-pro")  # warm: the price map is read once per process
        priced = _median_s(lambda: reprice(cur, f, "gemini/gemini-2.5-pro"), repeat)
        base = _median_s(lambda: (
            cur.execute("SELECT strftime(ts, '%Y-%m-%d'), sum(cost_usd) FROM llm_calls WHERE owner = ? "
                        "AND NOT superseded GROUP BY 1", ["alice"]).fetchall(),
            cur.execute("SELECT workflow, step_id, sum(cost_usd) FROM llm_calls WHERE owner = ? "
                        "AND NOT superseded GROUP BY 1, 2", ["alice"]).fetchall()), repeat)
        store.close()
    print(f"re-pricing {calls:,} calls: {priced * 1000:.0f} ms (target < 1000 ms); "
          f"baseline (recorded cost only, same grouping) {base * 1000:.0f} ms; ratio {priced / base:.2f}x")


def bench_replay(repeat: int) -> None:
    from history.replay_compare import compare
    from history.replay_plan import Pick, prepare_replay
    from history.store import HistoryStore
    from orchestrator.circuit import CircuitBreaker
    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine
    from schemas import load_workflow
    from testkit.llm_server import LLMServer

    server = LLMServer(default="echo").start()
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore.open(tmp, mlflow=False)
        creds = Credentials(keys={"openai": "sk-bench-0123456789abcdef"}, api_bases={"openai": server.base_url})
        engine = Engine(data_dir=Path(tmp), client=LiteLLMClient(creds, breaker=CircuitBreaker()),
                        credentials=creds, policy=Policy(), sinks=[store.sink])
        workflow = load_workflow(WORKFLOW, "bench.yaml")

        async def drain(stream: Any) -> str:
            last = None
            async for event in stream:
                last = event
            assert last is not None and last.type == "run_finished", last
            return last.run_id

        def fresh() -> str:
            run_id = asyncio.run(drain(engine.run(workflow, {}, owner="alice")))
            store.flush(30)
            return run_id

        source = fresh()  # warm: imports, compiled graph

        def replay(*picks: str) -> None:
            prepared = prepare_replay(store.read_cursor(), engine.store, source, "alice",
                                      [Pick.parse(p) for p in picks])
            run_id = asyncio.run(drain(engine.run(prepared.workflow, prepared.inputs, owner="alice",
                                                  replay=prepared.plan)))
            store.flush(30)
            compare(store.read_cursor(), run_id, "alice")

        replay("*")
        times: dict[str, list[float]] = {"fresh": [], "every": [], "one": []}
        for _ in range(repeat):  # interleaved, so all three see the same load on a shared machine
            for name, work in (("fresh", fresh), ("every", lambda: replay("*")),
                               ("one", lambda: replay("s4=openai/gpt-4o"))):
                t0 = time.perf_counter()
                work()
                times[name].append(time.perf_counter() - t0)
        base, every, one = (statistics.median(times[k]) for k in ("fresh", "every", "one"))
        store.close()
    server.stop()
    print(f"fresh run of {STEPS} steps: {base * 1000:.0f} ms (baseline)")
    print(f"replay of every step ({STEPS} calls): {every * 1000:.0f} ms, {every / base:.2f}x the fresh run")
    print(f"replay of one step (1 call, {STEPS - 1} served): {one * 1000:.0f} ms, {one / base:.2f}x the fresh run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_reprice(args.calls, args.repeat)
    bench_replay(args.repeat)


if __name__ == "__main__":
    main()
