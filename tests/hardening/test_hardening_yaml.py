"""Untrusted YAML: fuzzed, mutated and hostile documents never crash the loader or blow up memory.

Both checks run the loader in a child process (`faulthandler` on), so a segfault in libyaml or a
runaway allocation fails the test with a report instead of killing the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.yaml_bomb_child import EXPECTED_WORDS

ROOT = Path(__file__).resolve().parents[2]
FAST_DOCUMENTS = 250
SLOW_DOCUMENTS = 3000


def _child(module: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"the child crashed ({done.returncode}):\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_fuzz_report(report: dict[str, Any], n: int) -> None:
    stats = report["stats"]
    assert not report["problems"], "\n".join(report["problems"])
    assert stats["documents"] == n
    assert stats["loaded"] + stats["config_error"] == n  # nothing else ever escapes
    assert stats["syntax"] > n // 5, "the generator should produce plenty of YAML syntax errors"
    located = stats["syntax_located"] / stats["syntax"]
    assert located >= 0.95, f"only {located:.1%} of syntax errors carry a line and column"
    assert report["slowest_s"] < 1.0


def test_fuzzed_documents_load_or_fail_with_a_located_config_error() -> None:
    _check_fuzz_report(_child("tests.hardening.yaml_fuzz_child", str(FAST_DOCUMENTS)), FAST_DOCUMENTS)


@pytest.mark.slow
def test_thousands_of_fuzzed_documents() -> None:
    _check_fuzz_report(_child("tests.hardening.yaml_fuzz_child", str(SLOW_DOCUMENTS)), SLOW_DOCUMENTS)


@pytest.fixture(scope="module")
def bombs() -> dict[str, dict[str, Any]]:
    return _child("tests.hardening.yaml_bomb_child", timeout=120)


@pytest.mark.parametrize("name", sorted(EXPECTED_WORDS) + sorted(
    f"{n}_uncapped" for n in ("flow_nesting_100k", "flow_mapping_nesting_100k", "block_nesting_100k",
                              "block_mapping_nesting_5k")))
def test_hostile_documents_are_refused_fast_with_a_clear_message(bombs: dict[str, dict[str, Any]], name: str) -> None:
    result = bombs[name]
    assert result["outcome"] == "config_error", result
    words = EXPECTED_WORDS[name.removesuffix("_uncapped")]
    if name.endswith("_uncapped"):
        words = ("deep", "depth", "nest")
    assert any(w in result["message"] for w in words), result["message"]
    assert ":" in result["message"].split(" ")[0], "the message starts with file:line:column"
    assert result["seconds"] < 1.0
    assert result["rss_growth_mb"] < 200
