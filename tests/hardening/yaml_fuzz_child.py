"""Fuzz the config loader in a child process: `python -m tests.hardening.yaml_fuzz_child N`.

Runs in its own process with `faulthandler` on, so a crash in a C extension (libyaml, pydantic-core)
kills only this child and the parent test sees a traceback instead of a dead test run. Hypothesis
generates N documents (mutations of the bundled examples, YAML-token soup, raw text) with a fixed
seed; every one must load or fail with `ConfigError`. The last line of stdout is a JSON report.
"""

from __future__ import annotations

import faulthandler
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

faulthandler.enable()

import yaml as pyyaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from schemas import ConfigError, load_workflow  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = tuple(p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml")))
YAML_BITS = (":", "-", " ", "  ", "\n", "\t", "[", "]", "{", "}", ",", "!", "&", "*", "|", ">", "'", '"',
             "#", "%", "@", "`", "?", "\\", "---", "...", "!!python/object/apply:os.system", "&a", "*a",
             "<<: *a", "\ufeff", "\x00", "\u2028", "{{ env.HOME }}", "api_key: x", "0x7f", "1e999", "~",
             "\r\n", "- - -", "{a: [b, {c: d}]}")
INTERNAL = "cannot validate this config"


def _mutate(text: str, edits: list[tuple[int, int, int, str]]) -> str:
    """Apply (kind, position, length, insert) edits: 0 insert, 1 delete, 2 replace, 3 repeat lines."""
    for kind, pos, length, piece in edits:
        at = pos % (len(text) + 1)
        if kind == 0:
            text = text[:at] + piece + text[at:]
        elif kind == 1:
            text = text[:at] + text[at + length:]
        elif kind == 2:
            text = text[:at] + piece + text[at + length:]
        else:
            lines = text.split("\n")
            i = pos % max(1, len(lines))
            text = "\n".join(lines[: i + 1] + lines[i: i + 1 + length % 4] + lines[i + 1:])
    return text


edit = st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 40),
                 st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=6)))
mutated = st.builds(_mutate, st.sampled_from(EXAMPLES), st.lists(edit, min_size=1, max_size=8))
soup = st.lists(st.sampled_from(YAML_BITS + ("a", "b", "1", "steps", "agents", "version: 1")), max_size=60).map("".join)
documents = st.one_of(mutated, mutated, soup, st.text(max_size=300))


def _is_syntax_error(text: str) -> bool:
    try:
        list(pyyaml.parse(text, Loader=pyyaml.SafeLoader))
    except pyyaml.YAMLError:
        return True
    return False


def _located(issue: Any, text: str) -> bool:
    return 1 <= issue.line <= text.count("\n") + 2 and issue.column >= 1


def main(n: int) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    problems: list[str] = []
    slowest = [0.0]

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(documents)
    def check(text: str) -> None:
        started = time.perf_counter()
        try:
            load_workflow(text, "fuzz.yaml")
            stats["loaded"] += 1
        except ConfigError as exc:
            stats["config_error"] += 1
            if any(INTERNAL in i.message for i in exc.issues):
                problems.append(f"internal error masked as config error: {exc.issues[0].message} for {text!r}")
            if _is_syntax_error(text):
                stats["syntax"] += 1
                stats["syntax_located"] += all(_located(i, text) for i in exc.issues)
        except Exception as exc:  # noqa: BLE001 - this is what the fuzzer hunts
            problems.append(f"{type(exc).__name__}: {exc} for {text!r}")
        slowest[0] = max(slowest[0], time.perf_counter() - started)
        stats["documents"] += 1

    check()
    return {"stats": dict(stats), "problems": problems[:20], "slowest_s": slowest[0]}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
