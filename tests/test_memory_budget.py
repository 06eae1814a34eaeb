"""Memory budgets: a cold CLI run, and the app serving 20 runs at once.

Peak RSS is the kernel's high-water mark of the child process (`testkit.procstats`), which does not
depend on the machine's load, so the bounds sit closer to the measured figures than time caps can;
`bench/bench_cold.py` prints the figures themselves beside their baselines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from testkit.llm_server import LLMServer
from testkit.procstats import TEN_STEPS, app_memory, run_child
from testkit.replies import Reply

# 225 MB here: `import litellm` alone is 173 MB, LangGraph with langchain_core ≈40 MB, the config's pydantic
# models ≈25 MB. 298-301 MB while the run opened the DuckDB history in-process (≈50 MB, and numpy ≈10 MB: it now
# spools to SQLite, and `tests/test_import_budget.py` names DuckDB or numpy if they come back); 333-341 MB before
# LiteLLM's own token counter was turned off (a tokenizer, ≈40 MB); 364-375 MB before that. The cap is issue 18's target.
CLI_PEAK_MB = 250
APP_PEAK_MB = 1024


def _env(server: LLMServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(OPENAI_API_KEY="sk-test", GRAPHWRIGHT_OPENAI_API_BASE=server.base_url)
    return env


def test_a_cold_cli_run_of_ten_steps_stays_under_its_memory_budget(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.set_default("echo")
    (tmp_path / "wf.yaml").write_text(TEN_STEPS)
    cost = run_child([sys.executable, "-m", "graphwright", "run", str(tmp_path / "wf.yaml"),
                      "--data-dir", str(tmp_path / "d")], _env(llm_server))
    assert cost.returncode == 0, cost.stderr[-2000:]
    assert len(llm_server.requests) == 10
    assert cost.peak_rss_mb < CLI_PEAK_MB, f"peak RSS {cost.peak_rss_mb:.0f} MB"


@pytest.mark.slow
def test_the_app_serving_twenty_runs_at_once_stays_under_a_gigabyte(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.set_default(lambda req: Reply(text="Tides rise and fall twice a day.", latency=0.5))
    env = {**_env(llm_server), "GRAPHWRIGHT_DATA_DIR": str(tmp_path), "GRAPHWRIGHT_QUOTA_ANON_CONCURRENT_RUNS": "20",
           "GRAPHWRIGHT_QUOTA_ANON_RUNS_PER_HOUR": "200"}
    found = app_memory(env, 20)
    print(f"\napp RSS: idle {found.idle_rss_mb:.0f} MB, after one run {found.after_first_run_mb:.0f} MB, "
          f"peak with 20 runs {found.peak_rss_mb:.0f} MB")
    assert found.runs_finished == 20
    assert found.peak_rss_mb < APP_PEAK_MB
