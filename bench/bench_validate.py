"""Config validation benchmark: a generated 500-step workflow through the whole loader.

    .venv/bin/python -m bench.bench_validate            # or: python bench/bench_validate.py
    .venv/bin/python -m bench.bench_validate --steps 1000 --repeats 50

Measures the median of `validate_text` (event-stream safety checks, plain-data build with
positions, security scan, pydantic, semantic checks) on a config of N steps mixing every step
kind, with templates reading earlier steps. Baselines measured in the same run on the same text:
ruamel's `YAML(typ="safe").load` (what a plain loader costs here) and PyYAML's libyaml
`CSafeLoader` (the fastest unchecked load available). Target: under 100 ms for 500 steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from schemas import validate_text  # noqa: E402
from schemas.walk import all_steps  # noqa: E402

HEADER = """\
# yaml-language-server: $schema=../schemas/workflow.schema.json
version: 2
name: bench-{steps}
limits: {{max_steps: 1000}}
inputs:
  topic: {{default: tides}}
agents:
{agents}
steps:
"""


def generate(steps: int, agents: int = 10) -> str:
    """A valid config with `steps` steps: runs of agent steps with parallel, loop and route blocks."""
    agent_lines = "\n".join(
        f"  a{i}: {{role: Agent {i}, output: {{ok: {{type: boolean}}, note: {{}}}}}}" for i in range(agents)
    )
    out = [HEADER.format(steps=steps, agents=agent_lines)]
    made, prev = 0, None

    def agent(sid: str, indent: str, reads: str | None) -> str:
        prompt = f"Go on from {{{{ steps.{reads}.output.note }}}}" if reads else "Start on {{ inputs.topic }}"
        return f"{indent}- {{id: {sid}, type: agent, agent: a{made % agents}, prompt: '{prompt}'}}"

    while made < steps:
        block = (made // 10) % 4
        if block == 1 and steps - made >= 4:
            out.append(f"  - id: p{made}\n    type: parallel\n    branches:")
            for _ in range(3):
                made += 1
                out.append(agent(f"s{made}", "      ", prev))
            made += 1
            prev = f"s{made - 1}"
        elif block == 2 and steps - made >= 3:
            out.append(f"  - id: l{made}\n    type: loop\n    max_iterations: 3")
            out.append(f"    until: steps.s{made + 1}.output.ok == true\n    steps:")
            made += 1
            out.append(agent(f"s{made}", "      ", prev))
            prev = f"s{made}"
            made += 1
        elif block == 3 and steps - made >= 3:
            out.append(
                f"  - id: r{made}\n    type: route\n    on: '{{{{ steps.{prev}.output.ok }}}}'\n    cases:"
            )
            made += 1
            out.append(f"      - when: 'true'\n        steps:\n{agent(f's{made}', '          ', prev)}")
            out.append("    default: []")
            made += 1
        else:
            made += 1
            out.append(agent(f"s{made}", "  ", prev))
            prev = f"s{made}"
    return "\n".join(out) + "\n"


def median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall-clock ms, median CPU ms of this process); CPU time ignores waiting for a core."""
    fn()  # warm caches (the model price list, compiled validators)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    text = generate(args.steps)
    report = validate_text(text, "bench.yaml", max_bytes=max(64 * 1024, len(text.encode()) + 1))
    if not report.ok or report.warnings:
        print("\n".join(str(i) for i in (report.errors + report.warnings)[:10]))
        return 1
    count = len(all_steps(report.workflow))
    cap = max(64 * 1024, len(text.encode()) + 1)
    ours = median_ms(lambda: validate_text(text, "bench.yaml", max_bytes=cap), args.repeats)
    ruamel = median_ms(lambda: YAML(typ="safe").load(text), args.repeats)
    libyaml = median_ms(lambda: yaml.load(text, Loader=yaml.CSafeLoader), args.repeats)

    print(f"config: {count} steps, {len(text.encode()) / 1024:.1f} KiB, {text.count(chr(10))} lines")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'':38} {'wall ms':>9} {'cpu ms':>9} {'ratio (cpu)':>12}")
    rows = [
        ("validate_text (all checks)", ours),
        ("baseline ruamel YAML(typ=safe).load", ruamel),
        ("baseline PyYAML CSafeLoader load", libyaml),
    ]
    for label, (wall, cpu) in rows:
        print(f"{label:38} {wall:9.2f} {cpu:9.2f} {ours[1] / cpu:11.2f}x")
    verdict = "PASS" if ours[1] < 100 else "FAIL"
    print(
        f"target: median under 100 ms for {args.steps} steps (CPU time; wall time includes waiting "
        f"for a core on a shared machine): {verdict}"
    )
    return 0 if ours[1] < 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
