"""The CLI side of tools: a missing named secret is named before anything runs; installed functions list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphwright", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_a_run_without_its_secret_names_the_environment_variable_and_runs_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SERPER_API_KEY"}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    done = _cli("run", "examples/web_search.yaml", "--json", "--data-dir", str(tmp_path / "d"), env=env)
    assert done.returncode != 0
    shown = done.stdout + done.stderr
    assert "need the secret `SERPER_API_KEY`" in shown and "set the environment variable SERPER_API_KEY" in shown
    assert "run_failed" in done.stdout and "step_started" not in done.stdout and "llm_call" not in done.stdout


def test_tools_lists_the_installed_functions_with_their_parameters() -> None:
    done = _cli("tools")
    assert done.returncode == 0
    assert "calculate(expression)  [built-in]" in done.stdout and "days_between(start, end)" in done.stdout
