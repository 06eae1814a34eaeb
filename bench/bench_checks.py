"""`graphwright test` on 50 cases against the loopback server: wall time vs the slowest case.

    .venv/bin/python -m bench.bench_checks                       # defaults below
    .venv/bin/python -m bench.bench_checks --cases 50 --latency 0.5 --concurrency 4 16 50

Each case runs a two-step workflow (two streamed calls of `--latency` s each, served by
`testkit.llm_server` in a child process so it does not share this process's GIL) and grades the
output (contains, regex, a field's bounds, a JSON-schema shape). For each `--concurrency`, run in
process through `run_checks` (the code `graphwright test` calls), it prints the wall time of all
cases, the slowest case's own latency, and their ratio: 1.0 would be every case at once with no
overhead; cases / concurrency is what the bound allows. One case run alone is printed first: with
many at once, each case is slower than that (they share this process's CPU and the server's). Then the whole command once, as CI runs it
(a fresh process: imports, history, JUnit XML), with `--concurrency` set to the number of cases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench.bench_engine import make_engine, start_server  # noqa: E402
from orchestrator.checks.runner import run_checks  # noqa: E402
from schemas import load_workflow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def config(cases: int) -> str:
    head = """\
version: 2
name: bench-checks
default_model: openai/gpt-4o-mini
inputs: {topic: {}}
agents:
  writer: {role: Writer}
steps:
  - {id: draft, type: agent, agent: writer, prompt: 'Write about {{ inputs.topic }}'}
  - {id: polish, type: agent, agent: writer, prompt: 'Polish {{ steps.draft.output }}'}
checks:
"""
    case = ("  - name: case {i}\n    inputs: {{topic: topic {i}}}\n    expect:\n"
            "      - {{contains: tide}}\n      - {{step: draft, regex: 'moon'}}\n"
            "      - {{shape: {{type: string, minLength: 10}}}}\n    max_latency_s: 60\n")
    return head + "".join(case.format(i=i) for i in range(cases))


async def in_process(base_url: str, text: str, concurrencies: list[int], data: Path
                     ) -> list[tuple[int, float, float, int]]:
    """(concurrency, wall s, slowest case s, failed cases) for each concurrency, after a warm-up case."""
    engine, _client = make_engine(base_url, data)
    workflow = load_workflow(text)
    await run_checks(engine, workflow, names=[workflow.checks[0].name])  # imports, connections, compiled graph
    alone = await run_checks(engine, workflow, names=[workflow.checks[0].name])
    out = [(0, alone.wall_s, alone.cases[0].max_latency_s, len(alone.failed))]
    for n in concurrencies:
        report = await run_checks(engine, workflow, concurrency=n)
        out.append((n, report.wall_s, max(case.max_latency_s for case in report.cases), len(report.failed)))
    return out


def whole_command(base_url: str, path: Path, cases: int, data: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"OPENAI_API_KEY": "sk-bench", "GRAPHWRIGHT_OPENAI_API_BASE": base_url,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9"})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "graphwright", "test", str(path), "--concurrency", str(cases),
                           "--data-dir", str(data), "--junit", str(data / "junit.xml")],
                          env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 50])
    args = parser.parse_args(argv)
    process, base_url = start_server(args.latency)
    text = config(args.cases)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{args.cases} cases, 2 calls of {args.latency:g}s each per case")
            print(f"{'concurrency':>11}  {'wall s':>7}  {'slowest case s':>14}  {'ratio':>6}  {'bound':>6}  failed")
            measured = asyncio.run(in_process(base_url, text, args.concurrency, Path(tmp)))
            print(f"one case alone: {measured[0][2]:.2f}s (the floor is {2 * args.latency:g}s of model calls)")
            for n, wall, slowest, failed in measured[1:]:
                bound = -(-args.cases // n)
                print(f"{n:>11}  {wall:7.2f}  {slowest:14.2f}  {wall / slowest:6.2f}  {bound:6d}  {failed}")
            path = Path(tmp) / "bench_checks.yaml"
            path.write_text(text)
            wall = whole_command(base_url, path, args.cases, Path(tmp) / "cli")
            print(f"`graphwright test` as a fresh process, --concurrency {args.cases}: {wall:.2f}s "
                  f"(imports, history and JUnit XML included)")
    finally:
        process.terminate()


if __name__ == "__main__":
    main()
