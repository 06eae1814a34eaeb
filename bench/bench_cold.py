"""Cold-start benchmark: a fresh `graphwright` process per measurement, beside bare-LiteLLM baselines.

    .venv/bin/python -m bench.bench_cold                  # defaults below
    .venv/bin/python -m bench.bench_cold --repeats 5 --app-runs 20

Every model call goes to the loopback server (`testkit.llm_server`, in this process: it idles while
the child works) answering in `--latency` s with the reply streamed in ≈22 chunks, as in issue 18.
Each round runs every measurement once, interleaved, so baselines and figures share the machine's
load; medians over `--repeats` rounds are printed, with the load average before and after.

- `graphwright run` of a 10-step workflow: cold start → first model request (the server's clock
  against the spawn time), total wall time, peak RSS (the child's own, from `wait4`), CPU user+sys.
  Baselines: `python -c "import litellm"` (the import no CLI can skip), and a bare script that imports
  LiteLLM and makes the same 10 streamed `litellm.acompletion` calls (what a minimal caller costs).
- `graphwright validate` and `graphwright schema`: wall time (target < 1 s), beside `python -c pass`.
- With `--before DIR`, the same `run` from another checkout (say, of main), in the same rounds.
- The app (`--app-runs` > 0): RSS after start-up and warm-up, after one run, and the high-water mark
  while serving `--app-runs` runs at once, one visitor each (target < 1 GB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

from testkit.llm_server import LLMServer, RecordedRequest
from testkit.procstats import TEN_STEPS, ChildCost, app_memory, run_child
from testkit.replies import Reply

ROOT = Path(__file__).resolve().parents[1]
ANSWER = "The tide rises twice a day because the moon and the sun pull on the oceans of the earth as it turns."  # 22 chunks
BARE_CALLS = textwrap.dedent("""\
    import asyncio, os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    async def main():
        for i in range(10):
            stream = await litellm.acompletion(
                model="openai/gpt-4o-mini", api_base=sys.argv[1], api_key="sk-bench", stream=True,
                stream_options={"include_usage": True}, messages=[{"role": "user", "content": f"step {i}"}])
            async for _chunk in stream:
                pass

    asyncio.run(main())
""")


class FirstRequests:
    """Remembers when each request arrived, to read the first one after a given moment."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.arrivals.append(time.time())
        return Reply(text=ANSWER, latency=self.latency / 2, chunk_delay=self.latency / 2 / 22)

    def first_after(self, started: float) -> float:
        with self._lock:
            later = [t for t in self.arrivals if t >= started]
        return min(later) - started if later else float("nan")


def _env(server: LLMServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(OPENAI_API_KEY="sk-bench", GRAPHWRIGHT_OPENAI_API_BASE=server.base_url,
               LITELLM_LOCAL_MODEL_COST_MAP="True", GRAPHWRIGHT_OLLAMA_API_BASE="http://127.0.0.1:9",
               GRADIO_ANALYTICS_ENABLED="False")
    return env


def _checked(cost: ChildCost, what: str) -> ChildCost:
    if cost.returncode != 0:
        raise RuntimeError(f"{what} exited with {cost.returncode}: {cost.stderr[-2000:]}")
    return cost


def bench_cli(repeats: int, latency: float, before: Path | None = None) -> dict[str, dict[str, float]]:
    """Medians of every CLI figure and its baselines, measured interleaved (and the `run` of another
    checkout, `before`, when given)."""
    first = FirstRequests(latency)
    samples: dict[str, list[ChildCost]] = {}
    firsts: dict[str, list[float]] = {"run": [], "bare_calls": [], "run_before": []}
    with LLMServer(default=first) as server, tempfile.TemporaryDirectory() as tmp:
        env = _env(server)
        workflow, bare = Path(tmp) / "ten.yaml", Path(tmp) / "bare_calls.py"
        workflow.write_text(TEN_STEPS)
        bare.write_text(BARE_CALLS)
        py = sys.executable
        commands: dict[str, list[str]] = {
            "run": [py, "-m", "graphwright", "run", str(workflow), "--data-dir", ""],
            "bare_calls": [py, str(bare), server.base_url],
            "import_litellm": [py, "-c", "import os; os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'; "
                               "import litellm"],
            "validate": [py, "-m", "graphwright", "validate", str(ROOT / "examples" / "brief_writer.yaml")],
            "schema": [py, "-m", "graphwright", "schema"],
            "python": [py, "-c", "pass"],
        }
        if before is not None:  # `python -m` imports the package of its working directory first
            commands["run_before"] = commands["run"]
        for i in range(repeats):
            for name, args in commands.items():
                if name.startswith("run"):
                    args = [*args[:-1], str(Path(tmp) / f"data-{name}-{i}")]
                cwd = before if name == "run_before" and before is not None else ROOT
                cost = _checked(run_child(args, env, cwd=cwd), name)
                samples.setdefault(name, []).append(cost)
                if name in firsts:
                    firsts[name].append(first.first_after(cost.started))
    out: dict[str, dict[str, float]] = {}
    for name, costs in samples.items():
        out[name] = {"wall_s": statistics.median(c.wall_s for c in costs),
                     "cpu_s": statistics.median(c.cpu_s for c in costs),
                     "peak_rss_mb": statistics.median(c.peak_rss_mb for c in costs)}
        if name in firsts:
            out[name]["first_request_s"] = statistics.median(firsts[name])
    return out


def bench_app(runs: int, latency: float) -> dict[str, float]:
    with LLMServer(default=lambda req: Reply(text=ANSWER, latency=latency)) as server, \
            tempfile.TemporaryDirectory() as tmp:
        env = {**_env(server), "GRAPHWRIGHT_DATA_DIR": tmp, "GRAPHWRIGHT_QUOTA_ANON_CONCURRENT_RUNS": str(runs),
               "GRAPHWRIGHT_QUOTA_ANON_RUNS_PER_HOUR": str(runs * 10)}
        found = app_memory(env, runs)
    return {"idle_rss_mb": found.idle_rss_mb, "after_first_run_mb": found.after_first_run_mb,
            "peak_rss_mb": found.peak_rss_mb, "runs_finished": found.runs_finished}


def _row(what: str, value: str, baseline: str, target: str) -> str:
    return f"| {what} | {value} | {baseline} | {target} |"


def report(cli: dict[str, dict[str, float]], app: dict[str, float] | None, load: tuple[str, str],
           before_dir: Path | None = None) -> str:
    run, bare, imp = cli["run"], cli["bare_calls"], cli["import_litellm"]
    fmt: Callable[[float], str] = "{:.2f} s".format
    lines = [f"load average before: {load[0]}; after: {load[1]}", "",
             "| figure | graphwright | baseline (same run) | target |", "|---|---|---|---|",
             _row("cold `run` (10 steps) → first LLM request", fmt(run["first_request_s"]),
                  f"bare LiteLLM script {fmt(bare['first_request_s'])}; `import litellm` {fmt(imp['wall_s'])}",
                  "≤ 3.0 s"),
             _row("cold `run` total", fmt(run["wall_s"]), f"bare LiteLLM script {fmt(bare['wall_s'])}", ""),
             _row("peak RSS of that run", f"{run['peak_rss_mb']:.0f} MB",
                  f"bare script {bare['peak_rss_mb']:.0f} MB; `import litellm` {imp['peak_rss_mb']:.0f} MB",
                  "≤ 250 MB"),
             _row("CPU user+sys of that run", fmt(run["cpu_s"]),
                  f"bare script {fmt(bare['cpu_s'])}; `import litellm` {fmt(imp['cpu_s'])}", ""),
             *([_row(f"the same run from `{before_dir}`",
                     f"first request {fmt(cli['run_before']['first_request_s'])}, total "
                     f"{fmt(cli['run_before']['wall_s'])}, {cli['run_before']['peak_rss_mb']:.0f} MB, CPU "
                     f"{fmt(cli['run_before']['cpu_s'])}", "", "")] if "run_before" in cli else []),
             _row("cold `validate` (brief_writer.yaml)", fmt(cli["validate"]["wall_s"]),
                  f"`python -c pass` {fmt(cli['python']['wall_s'])}", "< 1 s"),
             _row("cold `schema`", fmt(cli["schema"]["wall_s"]), f"`python -c pass` {fmt(cli['python']['wall_s'])}",
                  "< 1 s")]
    if app is not None:
        lines += [_row("app RSS after start-up and warm-up (idle)", f"{app['idle_rss_mb']:.0f} MB",
                       f"after one run {app['after_first_run_mb']:.0f} MB", "reported"),
                  _row(f"app peak RSS serving {int(app['runs_finished'])} runs at once",
                       f"{app['peak_rss_mb']:.0f} MB", "", "< 1 GB")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--app-runs", type=int, default=20, help="concurrent app runs (0: skip the app)")
    parser.add_argument("--before", type=Path, default=None,
                        help="another checkout (e.g. of main) whose `run` is measured in the same rounds")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    cli = bench_cli(args.repeats, args.latency, args.before)
    app = bench_app(args.app_runs, args.latency) if args.app_runs else None
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(report(cli, app, (load_before, load_after), args.before))


if __name__ == "__main__":
    main()
