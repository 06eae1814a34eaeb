"""LiteLLM's import leaves the environment as the process was started: no `.env` file is loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Counts LiteLLM's calls to `dotenv.load_dotenv` (it looks it up on the module at call time).
_COUNT_DOTENV_LOADS = """
    import dotenv
    loads = []
    dotenv.load_dotenv = lambda *args, **kwargs: loads.append(1) or False
"""


def _dotenv_loads(importing: str) -> str:
    code = textwrap.dedent(_COUNT_DOTENV_LOADS) + textwrap.dedent(importing) + "\nprint(len(loads))\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_bare_litellm_import_would_load_a_dotenv_file() -> None:
    assert _dotenv_loads("import litellm") == "1"  # what the next test guards against


def test_the_engine_imports_litellm_without_loading_a_dotenv_file() -> None:
    assert _dotenv_loads("from orchestrator.llm import load_litellm\nload_litellm()") == "0"
