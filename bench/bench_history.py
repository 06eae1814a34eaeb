"""Run-history benchmark: writer ingest rate and dashboard query latency, DuckDB against SQLite.

    .venv/bin/python -m bench.bench_history               # 1,000,000 LLM-call rows
    .venv/bin/python -m bench.bench_history --rows 100000 # quicker

1. Ingest: synthetic runs (steps of LLM calls, as the engine emits them) go through
   `HistoryStore.record` and the background writer; the clock stops when `flush()` returns, i.e.
   when every row is committed. Target: >= 50,000 LLM-call rows/s.
2. Queries: the median of each dashboard query over all rows (the admin view, the heaviest).
   Target: < 100 ms each.
3. Baseline measured in the same run: the same rows copied into SQLite (stdlib sqlite3) and the
   same dashboards written for SQLite (window functions for the percentiles); reported as a ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from history import queries as q
from history.errors import QueueFull
from history.store import HistoryStore
from orchestrator import events as ev

MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku", "anthropic/claude-sonnet",
          "gemini/gemini-2.0-flash", "groq/llama-3.3-70b"]  # fmt: skip
WORKFLOWS = [f"workflow-{i}" for i in range(8)]
OWNERS = [f"user-{i}" for i in range(50)]
STEPS_PER_RUN = 5
SPAN_S = 30 * 86_400.0  # the synthetic history covers 30 days


def synthetic_run(i: int, calls_per_run: int, start: float, rng: random.Random) -> Iterator[ev.Event]:
    """One run's events, shaped like the engine's: steps of LLM calls, then a terminal event."""
    run_id = f"run-{i:07d}"
    t = start
    seq = 0
    yield ev.RunStarted(run_id=run_id, workflow=WORKFLOWS[i % len(WORKFLOWS)], owner=OWNERS[i % len(OWNERS)], ts=t)
    per_step = max(1, calls_per_run // STEPS_PER_RUN)
    for s in range(STEPS_PER_RUN):
        step_id = f"step-{s}"
        seq += 1
        yield ev.StepStarted(run_id=run_id, seq=seq, step_id=step_id, step_type="llm", ts=t)
        cost = tin = tout = 0.0
        for _ in range(per_step):
            latency = rng.lognormvariate(-0.5, 0.6)
            t += latency
            seq += 1
            ti, to = rng.randint(50, 2000), rng.randint(10, 800)
            c = (ti * 0.15 + to * 0.6) / 1e6
            cost, tin, tout = cost + c, tin + ti, tout + to
            yield ev.LLMCall(
                run_id=run_id, seq=seq, step_id=step_id, model=MODELS[rng.randrange(len(MODELS))],
                provider="openai", tokens_in=ti, tokens_out=to, cost_usd=c, latency_s=latency,
                ttft_s=latency * 0.2, ts=t, error="rate_limited" if rng.random() < 0.01 else None,
            )  # fmt: skip
        seq += 1
        yield ev.StepFinished(run_id=run_id, seq=seq, step_id=step_id, step_type="llm", ts=t,
                              duration_s=t - start, tokens_in=int(tin), tokens_out=int(tout), cost_usd=cost)  # fmt: skip
    seq += 1
    if rng.random() < 0.05:
        yield ev.RunFailed(run_id=run_id, seq=seq, ts=t, reason=rng.choice(["timeout", "provider_error", "budget"]),
                           message="synthetic failure")  # fmt: skip
    else:
        yield ev.RunFinished(run_id=run_id, seq=seq, ts=t, duration_s=t - start)


@dataclass
class Ingest:
    wall_s: float = 0.0  # generation included
    writer_s: float = 0.0  # only `record` + `flush`: the time the rows take through the writer
    cpu_s: float = 0.0
    events: int = 0
    retries: int = 0


def ingest(store: HistoryStore, rows: int, calls_per_run: int, chunk_runs: int = 500) -> Ingest:
    """Record every event. Events are built a chunk at a time while the writer is idle, then the
    chunk goes through `record` and `flush` on the clock: that is the writer's ingest rate."""
    rng = random.Random(7)
    runs = max(1, rows // calls_per_run)
    base = time.time() - SPAN_S
    out = Ingest()
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, runs, chunk_runs):
        chunk = [e for i in range(first, min(runs, first + chunk_runs))
                 for e in synthetic_run(i, calls_per_run, base + i * SPAN_S / runs, rng)]  # fmt: skip
        t0 = time.perf_counter()
        for event in chunk:
            while True:
                try:
                    store.record(event, wait=False)
                    break
                except QueueFull:  # the writer is behind: back off, as a producer should
                    out.retries += 1
                    time.sleep(0.001)
        assert store.flush(timeout=600)
        out.writer_s += time.perf_counter() - t0
        out.events += len(chunk)
    out.wall_s, out.cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return out


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# -- the SQLite baseline ------------------------------------------------------------------------

def _pct(col: str, key: str, table: str, where: str = "") -> str:
    """Nearest-rank p50/p95 of `col` per `key` (as column `k`) with window functions: SQLite has no quantile."""
    return f"""
        SELECT k, max(CASE WHEN rn = CAST(0.5 * (n - 1) AS INT) + 1 THEN {col} END) AS p50,
               max(CASE WHEN rn = CAST(0.95 * (n - 1) AS INT) + 1 THEN {col} END) AS p95
        FROM (SELECT {key} AS k, {col}, row_number() OVER (PARTITION BY {key} ORDER BY {col}) AS rn,
                     count({col}) OVER (PARTITION BY {key}) AS n FROM {table} WHERE {col} IS NOT NULL {where})
        GROUP BY k"""


_FINISHED = "AND status = 'finished'"
SQLITE_QUERIES: dict[str, str] = {
    "kpis": f"""
        SELECT count(*), sum(status = 'finished'), sum(status = 'failed'),
               1.0 * sum(status = 'finished') / sum(status IN ('finished', 'failed', 'cancelled')),
               sum(cost_usd), avg(cost_usd), p.p50, p.p95, sum(tokens_in), sum(tokens_out)
        FROM runs, ({_pct('duration_s', "'all'", 'runs', _FINISHED)}) p""",
    "cost_by_day": """SELECT date(ts) AS day, model, sum(cost_usd), count(*) FROM llm_calls
        WHERE NOT superseded GROUP BY day, model ORDER BY day, model""",
    "cost_latency_by_workflow": f"""
        SELECT a.workflow, a.runs, a.total, a.avg, p.p50, p.p95 FROM
        (SELECT workflow, count(*) AS runs, sum(cost_usd) AS total, avg(cost_usd) AS avg FROM runs GROUP BY workflow) a
        JOIN ({_pct('duration_s', 'workflow', 'runs')}) p ON p.k = a.workflow ORDER BY a.total DESC""",
    "latency_by_step": f"""
        SELECT a.*, p.p50, p.p95 FROM
        (SELECT workflow || '/' || step_id AS k, count(*) AS runs, sum(cost_usd) AS cost FROM steps
         WHERE NOT superseded GROUP BY k) a
        JOIN ({_pct('duration_s', "workflow || '/' || step_id", 'steps', 'AND NOT superseded')}) p USING (k)
        ORDER BY p.p95 DESC""",
    "latency_by_model": f"""
        SELECT a.*, p.p50, p.p95 FROM
        (SELECT model, count(*) AS calls, avg(ttft_s), 1.0 * sum(error IS NOT NULL) / count(*) AS error_rate,
                sum(cost_usd) AS cost FROM llm_calls WHERE NOT superseded GROUP BY model) a
        JOIN ({_pct('latency_s', 'model', 'llm_calls', 'AND NOT superseded')}) p ON p.k = a.model
        ORDER BY p.p95 DESC""",
    "ttft_by_model": f"""SELECT k, p50, p95 FROM ({_pct('ttft_s', 'model', 'llm_calls', 'AND NOT superseded')})
        ORDER BY p95 DESC""",
    "tokens_over_time": """SELECT date(ts) AS bucket, sum(tokens_in), sum(tokens_out) FROM llm_calls
        WHERE NOT superseded GROUP BY bucket ORDER BY bucket""",
    "failures_by_reason": """SELECT coalesce(reason, 'unknown') AS reason, count(*) AS n, max(started_at) FROM runs
        WHERE status = 'failed' GROUP BY 1 ORDER BY n DESC""",
    "most_expensive_runs": "SELECT * FROM runs ORDER BY cost_usd DESC, started_at DESC LIMIT 10",
}


def copy_to_sqlite(store: HistoryStore, path: Path) -> sqlite3.Connection:
    """The same rows in SQLite (timestamps as ISO text, SQLite's usual date form)."""
    cur = store.read_cursor()
    db = sqlite3.connect(path)
    for table in ("runs", "steps", "llm_calls"):
        columns = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
        db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        result = cur.execute(f"SELECT * FROM {table}")
        marks = ", ".join("?" * len(columns))
        while chunk := result.fetchmany(50_000):
            db.executemany(f"INSERT INTO {table} VALUES ({marks})",
                           [tuple(str(v) if hasattr(v, "isoformat") else v for v in row) for row in chunk])  # fmt: skip
    db.commit()
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic LLM-call rows (default 1,000,000)")
    parser.add_argument("--calls-per-run", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per query (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        store = HistoryStore.open(Path(tmp) / "data", mlflow=False)
        load = os.getloadavg()[0]
        run = ingest(store, args.rows, args.calls_per_run)
        cur = store.read_cursor()
        calls = cur.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        rate = calls / run.writer_s
        print(f"ingest: {calls:,} LLM-call rows ({run.events:,} events in all), load average {load:.1f} on "
              f"{os.cpu_count()} cores at start")
        print(f"  through the writer (record + flush): {run.writer_s:.1f} s = {rate:,.0f} LLM-call rows/s, "
              f"{run.events / run.writer_s:,.0f} events/s  (target >= 50,000 rows/s: "
              f"{'PASS' if rate >= 50_000 else 'FAIL'}; queue-full back-offs: {run.retries})")
        print(f"  end to end with event generation: {run.wall_s:.1f} s wall = {calls / run.wall_s:,.0f} rows/s; "
              f"{run.cpu_s:.1f} s CPU = {calls / run.cpu_s:,.0f} rows per CPU-second")

        everyone = q.Filters(owner=None)
        duck = {name: median_ms(lambda fn=fn: fn(cur, everyone), args.repeat) for name, fn in q.DASHBOARDS.items()}
        one_user = q.Filters(owner=OWNERS[0])
        duck_user = {name: median_ms(lambda fn=fn: fn(cur, one_user), args.repeat) for name, fn in q.DASHBOARDS.items()}

        t0 = time.perf_counter()
        lite = copy_to_sqlite(store, Path(tmp) / "baseline.sqlite")
        print(f"sqlite baseline: same rows copied in {time.perf_counter() - t0:.1f} s")
        sqlite_ms = {name: median_ms(lambda sql=sql: lite.execute(sql).fetchall(), max(1, args.repeat // 3))
                     for name, sql in SQLITE_QUERIES.items()}  # fmt: skip
        store.close()

    print(f"\n{'dashboard query (all rows)':<28}{'duckdb ms':>11}{'1 user ms':>11}{'sqlite ms':>11}"
          f"{'sqlite/duckdb':>15}  target < 100 ms")  # fmt: skip
    for name in q.DASHBOARDS:
        ok = "PASS" if duck[name] < 100 else "FAIL"
        print(f"{name:<28}{duck[name]:>11.1f}{duck_user[name]:>11.1f}{sqlite_ms[name]:>11.1f}"
              f"{sqlite_ms[name] / duck[name]:>14.1f}x  {ok}")  # fmt: skip


if __name__ == "__main__":
    main()
