"""Import budgets of the CLI: a heavy module on a path that does not need it fails here, named.

Each command runs cold in a subprocess with `python -X importtime`; the test reads which modules it
imported (`testkit.importtime`). Budgets are lists of packages a path must not import and a cap on
the total import time, set with a wide margin over this machine's figure (CI machines are loaded):
the list is the real guard, the cap catches a slow newcomer the list does not name. Timings of the
whole command live in `bench/bench_cold.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testkit.importtime import Import, chain, forbidden, parse, total_seconds
from testkit.procstats import TEN_STEPS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "one_persona.yaml"

# Never on the CLI's paths: the app, dashboards, tracing and cluster back ends load their own.
HEAVY = ("gradio", "pandas", "mlflow", "temporalio", "psycopg", "plotly", "pyarrow", "sklearn", "scipy",
         "matplotlib", "fastapi", "uvicorn")
# Not needed to check or describe a config: no engine, no model client, no stores.
ENGINE = ("litellm", "openai", "tiktoken", "langgraph", "langchain_core", "langsmith", "duckdb", "docker",
          "aiohttp", "httpx")
# Not on a run of agent steps either: docker (no step runs code), nor cluster mode (a local run), nor DuckDB and
# numpy (≈60 MB: the run spools its history, `history.spool`, for whoever holds the DuckDB file). Nor tiktoken's
# encodings (≈40 MB, from `tiktoken.load`): they load only when we count tokens ourselves (no usage reported).
RUN_NEVER = ("docker", "cluster", "duckdb", "numpy")
ENCODINGS = "tiktoken.load"
# Modules a run of TEN_STEPS imports: 3,577 here (`import litellm` alone: ≈2,700). A new dependency of the run path
# usually brings a hundred or more; `bench/bench_cold.py` shows what it costs.
RUN_MODULES_CAP = 3_670
# Import time of a config command over that of the libraries it cannot do without, both measured in
# the same test (a ratio survives a loaded machine; seconds do not): 2.4-4.8 here under load.
BASELINE = "import argparse, json, pydantic, ruamel.yaml"
RATIO_CAP = 8.0


def _imports(*args: str, env: dict[str, str] | None = None) -> list[Import]:
    """What `graphwright ARGS` imported (or, with `-c CODE` as ARGS, what the code imported)."""
    program = list(args) if args[0] == "-c" else ["-m", "graphwright", *args]
    done = subprocess.run([sys.executable, "-X", "importtime", *program], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    imports = parse(done.stderr)
    assert imports, "no -X importtime lines: the parser no longer matches Python's output"
    return imports


@pytest.mark.parametrize("args", [("validate", str(EXAMPLE)), ("schema",), ("tools",), ("--help",)],
                         ids=["validate", "schema", "tools", "help"])
def test_config_commands_import_no_engine_and_nothing_heavy(args: tuple[str, ...]) -> None:
    imports = _imports(*args)
    assert forbidden(imports, HEAVY + ENGINE) == []
    # the fastest of three alternated rounds on each side: a busy machine slows a round, never speeds one
    command, baseline = total_seconds(imports), total_seconds(_imports("-c", BASELINE))
    for _ in range(2):
        command = min(command, total_seconds(_imports(*args)))
        baseline = min(baseline, total_seconds(_imports("-c", BASELINE)))
    assert command < RATIO_CAP * baseline, f"{command:.2f} s vs {baseline:.2f} s"


def test_a_run_imports_nothing_it_does_not_need(tmp_path: Path, llm_server) -> None:
    """A run of agent steps needs LiteLLM and LangGraph; not DuckDB nor numpy (its history is spooled
    to SQLite), not docker (no step runs code), not the app's or the dashboards' stacks, not a
    tokenizer (the server reports usage)."""
    llm_server.set_default("echo")
    (tmp_path / "wf.yaml").write_text(TEN_STEPS)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "GRAPHWRIGHT_OPENAI_API_BASE": llm_server.base_url}
    imports = _imports("run", str(tmp_path / "wf.yaml"), "--json", "--data-dir", str(tmp_path / "d"), env=env)
    assert len(llm_server.requests) == 10
    assert {"litellm", "langgraph", "history"} <= {i.package for i in imports}  # the guard sees the run, recorded
    assert forbidden(imports, HEAVY + RUN_NEVER) == []
    encodings = [i for i, item in enumerate(imports) if item.module == ENCODINGS]
    assert not encodings, f"tokenizer encodings loaded (≈40 MB) by {' <- '.join(chain(imports, encodings[0])[1:])}"
    assert len(imports) < RUN_MODULES_CAP, f"{len(imports)} modules imported by a run (cap {RUN_MODULES_CAP})"


def test_the_guard_names_a_heavy_module_and_who_imported_it() -> None:
    imports = parse(textwrap.dedent("""\
        import time: self [us] | cumulative | imported package
        import time:       900 |        900 |       pandas.core
        import time:      1000 |       1900 |     pandas
        import time:       100 |       2000 |   history.columns
        import time:        50 |       2050 | history.writer
        import time:        10 |         10 | json
    """))
    assert forbidden(imports, ["pandas", "gradio"]) == ["pandas (imported by history.columns <- history.writer)"]
    assert total_seconds(imports) == pytest.approx(0.00206)
