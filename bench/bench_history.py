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


def ingest(store: HistoryStore, rows: int, calls_per_run: int) -> tuple[float, float, int, int]:
    """Record every event; returns (seconds until committed, CPU seconds, events, queue-full retries)."""
    rng = random.Random(7)
    runs = max(1, rows // calls_per_run)
    base = time.time() - SPAN_S
    events = retries = 0
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(runs):
        for event in synthetic_run(i, calls_per_run, base + i * SPAN_S / runs, rng):
            while True:
                try:
                    store.record(event, wait=False)
                    break
                except QueueFull:  # the writer is behind: back off, as a producer should
                    retries += 1
                    time.sleep(0.001)
            events += 1
    assert store.flush(timeout=1800)
    return time.perf_counter() - started, time.process_time() - cpu, events, retries


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
        SELECT a.*, p.p50, p.p95, t.p50, t.p95 FROM
        (SELECT model, count(*) AS calls, 1.0 * sum(error IS NOT NULL) / count(*) AS error_rate,
                sum(cost_usd) AS cost FROM llm_calls WHERE NOT superseded GROUP BY model) a
        JOIN ({_pct('latency_s', 'model', 'llm_calls', 'AND NOT superseded')}) p ON p.k = a.model
        JOIN ({_pct('ttft_s', 'model', 'llm_calls', 'AND NOT superseded')}) t ON t.k = a.model
        ORDER BY p.p95 DESC""",
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
        seconds, cpu, events, retries = ingest(store, args.rows, args.calls_per_run)
        cur = store.read_cursor()
        calls = cur.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        rate = calls / seconds
        print(f"ingest: {calls:,} LLM-call rows ({events:,} events in all) committed in {seconds:.1f} s "
              f"(load average {load:.1f} on {os.cpu_count()} cores at start)")
        print(f"        {rate:,.0f} LLM-call rows/s wall, {events / seconds:,.0f} events/s"
              f"  (target >= 50,000 rows/s: {'PASS' if rate >= 50_000 else 'FAIL'}; queue-full back-offs: {retries})")
        print(f"        {calls / cpu:,.0f} rows per CPU-second of this process ({cpu:.1f} s CPU, event generation"
              " included): the rate on an otherwise idle machine")

        everyone = q.Filters(owner=None)
        duck = {name: median_ms(lambda fn=fn: fn(cur, everyone), args.repeat) for name, fn in q.DASHBOARDS.items()}
        one_user = q.Filters(owner=OWNERS[0])
        duck_user = {name: median_ms(lambda fn=fn: fn(cur, one_user), args.repeat) for name, fn in q.DASHBOARDS.items()}

        t0 = time.perf_counter()
        lite = copy_to_sqlite(store, Path(tmp) / "baseline.sqlite")
        print(f"sqlite baseline: same rows copied in {time.perf_counter() - t0:.1f} s")
        sqlite_ms = {name: median_ms(lambda sql=sql: lite.execute(sql).fetchall(), max(3, args.repeat // 2))
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
