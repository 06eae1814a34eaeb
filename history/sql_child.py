"""The SQL box's worker process: runs one checked SELECT over one visitor's exported rows.

`python -m history.sql_child DIR` reads `DIR/request.json` and the tables as `DIR/<table>.parquet`
(written by `history.sql_box`, which holds the history file: DuckDB lets no second process open
it), and writes `DIR/result.json`. It runs in its own process so the parent can kill it at the
deadline whatever DuckDB is doing, and with no provider keys in its environment. The database it
queries is in memory and locked down before the query runs (no files, no Python variables, no
configuration changes). Rows are fetched in small batches and the fetch stops at the row or byte
cap, so at most `max_bytes` of result ever leaves this process.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb

FETCH_BATCH = 8  # DuckDB holds the rest of its chunk within its memory limit

# `call_cost('openai/gpt-4o', tokens_in, tokens_out)`: one call's dollars on a model, as LiteLLM
# prices it (the map's key, else the name without its provider; a prompt above the tier's threshold
# at the tier's rates); NULL when the model has no per-token price.
CALL_COST_MACRO = """
CREATE MACRO call_cost(model_name, tin, tout) AS (
    SELECT CASE WHEN p.tier_above_tokens IS NOT NULL AND tin > p.tier_above_tokens
                THEN tin * coalesce(p.tier_input_cost_per_token, p.input_cost_per_token)
                     + tout * coalesce(p.tier_output_cost_per_token, p.output_cost_per_token)
                ELSE tin * p.input_cost_per_token + tout * p.output_cost_per_token END
    FROM model_prices p
    WHERE p.model IN (model_name, CASE WHEN contains(model_name, '/') THEN substr(model_name, position('/' IN model_name) + 1) END)
    ORDER BY p.model = model_name DESC LIMIT 1
)
"""


def _size(value: Any) -> int:
    """Roughly how many bytes a value takes once it is JSON (strings and blobs dominate)."""
    if value is None or isinstance(value, bool | int | float):
        return 8
    if isinstance(value, str | bytes):
        return len(value) + 2
    return len(repr(value))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)  # timestamps, decimals, UUIDs, blobs: shown as text


def _box(folder: Path, tables: list[str]) -> duckdb.DuckDBPyConnection:
    box = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": "512MB"})
    for name in tables:
        path = str(folder / f"{name}.parquet").replace("'", "''")
        box.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    if "model_prices" in tables:
        box.execute(CALL_COST_MACRO)
    box.execute("SET python_enable_replacements = false")
    box.execute("SET enable_external_access = false")
    box.execute("SET lock_configuration = true")
    return box


def run(folder: Path) -> dict[str, Any]:
    request = json.loads((folder / "request.json").read_text())
    row_limit, max_bytes, timeout_s = request["row_limit"], request["max_bytes"], request["timeout_s"]
    # The kernel's own stop as a second net: CPU seconds, whatever the parent does.
    cpu = math.ceil(timeout_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    box = _box(folder, request["tables"])
    print("ready", flush=True)  # the parent's deadline starts now
    timer = threading.Timer(timeout_s, box.interrupt)  # the polite stop; the parent kills if ignored
    timer.start()
    try:
        result = box.execute(request["statement"])
        columns = [d[0] for d in result.description or []]
        rows: list[list[Any]] = []
        used, cut = 0, ""
        while not cut:
            batch = result.fetchmany(FETCH_BATCH)
            if not batch:
                break
            for row in batch:
                if len(rows) >= row_limit:
                    cut = "rows"
                    break
                used += sum(_size(v) for v in row)
                if used > max_bytes:
                    cut = "bytes"
                    break
                rows.append([_plain(v) for v in row])
    except duckdb.InterruptException:
        return {"error": "timeout"}
    except duckdb.Error as exc:
        return {"error": "failed", "message": str(exc)}
    finally:
        timer.cancel()
    return {"columns": columns, "rows": rows, "cut": cut}


def main() -> int:
    folder = Path(sys.argv[1])
    outcome = run(folder)
    (folder / "result.json").write_text(json.dumps(outcome, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
