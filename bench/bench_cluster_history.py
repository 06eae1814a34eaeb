"""Cluster-mode history benchmark: four writer processes into PostgreSQL, dashboards through DuckDB.

    .venv/bin/python -m bench.bench_cluster_history               # 1,000,000 LLM-call rows
    .venv/bin/python -m bench.bench_cluster_history --rows 100000 # quicker

Starts a throwaway PostgreSQL (Debian's binaries, `testkit.postgres`) unless
`GRAPHWRIGHT_POSTGRES_DSN` names one. Reported:
1. ingest: the same synthetic runs as `bench_history`, split over four processes, each with its own
   `PgHistoryStore` (as four workers would); the clock stops when every writer's `flush()` returned.
2. catch-up: an app replica's analytics copy (`history.pg_mirror`) loading everything cold, then
   after one more run (100 calls), then with nothing new (the cost every read pays).
3. dashboards: the median of each query over all rows and for one user, on the copy, next to the
   same queries on a local DuckDB file holding the same rows. Target: each under 1 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import tempfile
import time
from pathlib import Path

from bench.bench_history import OWNERS, SPAN_S, median_ms, synthetic_run
from history import queries as q
from history.errors import QueueFull
from history.store import HistoryStore

WRITERS = 4


def _record(store: HistoryStore, events: object) -> int:
    """Record every event, backing off while the writer's queue is full; returns how many."""
    n = 0
    for event in events:  # type: ignore[attr-defined]
        while True:
            try:
                store.record(event, wait=False)
                break
            except QueueFull:
                time.sleep(0.001)
        n += 1
    return n


def _write(args: tuple[str, int, int, int, float]) -> int:
    """One writer process: runs `index % WRITERS == part`; returns the events it recorded."""
    from history.pg_store import PgHistoryStore

    dsn, part, runs, calls_per_run, base = args
    store = PgHistoryStore(dsn)
    rng, n = random.Random(part), 0
    for i in range(part, runs, WRITERS):
        n += _record(store, synthetic_run(i, calls_per_run, base + i * SPAN_S / runs, rng))
    assert store.flush(timeout=1800)
    store.close()
    return n


def _local_copy(runs: int, calls_per_run: int, base: float, folder: Path) -> HistoryStore:
    store = HistoryStore.open(folder, mlflow=False)
    for part in range(WRITERS):
        rng = random.Random(part)
        for i in range(part, runs, WRITERS):
            _record(store, synthetic_run(i, calls_per_run, base + i * SPAN_S / runs, rng))
    assert store.flush(timeout=1800)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls-per-run", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = max(1, args.rows // args.calls_per_run)
    base = time.time() - SPAN_S
    server = None
    dsn = os.environ.get("GRAPHWRIGHT_POSTGRES_DSN")
    if not dsn:
        from testkit.postgres import PgServer

        server = PgServer.start_new()
        dsn = server.create_database("bench")
    try:
        from history.pg_schema import migrate_pg
        from history.pg_store import PgHistoryStore

        migrate_pg(dsn)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at start")
        t0 = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
            events = sum(pool.map(_write, [(dsn, p, runs, args.calls_per_run, base) for p in range(WRITERS)]))
        wall = time.perf_counter() - t0
        reader = PgHistoryStore(dsn)
        t0 = time.perf_counter()
        cur = reader.read_cursor()
        cold = time.perf_counter() - t0
        calls = cur.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        memory = cur.execute("SELECT memory_usage FROM pragma_database_size()").fetchone()[0]
        print(f"analytics copy in memory: {memory}")
        print(f"ingest: {calls:,} LLM-call rows ({events:,} events) by {WRITERS} writer processes in {wall:.1f} s "
              f"= {calls / wall:,.0f} rows/s")
        extra = PgHistoryStore(dsn)
        for event in synthetic_run(runs + 1, args.calls_per_run, time.time(), random.Random(9)):
            extra.record(event, wait=False)
        assert extra.flush(60)
        extra.close()
        t0 = time.perf_counter()
        reader.read_cursor()
        one_run = time.perf_counter() - t0
        idle = median_ms(reader.read_cursor, args.repeat)
        print(f"catch-up of the analytics copy: cold {cold:.2f} s for everything; {one_run * 1000:.0f} ms after "
              f"one more run; {idle:.1f} ms with nothing new (paid by every read)")

        everyone, one_user = q.Filters(owner=None), q.Filters(owner=OWNERS[0])
        mirror = {n: (median_ms(lambda f=f: f(reader.read_cursor(), everyone), args.repeat),
                      median_ms(lambda f=f: f(reader.read_cursor(), one_user), args.repeat))
                  for n, f in q.DASHBOARDS.items()}
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            local = _local_copy(runs, args.calls_per_run, base, Path(tmp))
            lcur = local.read_cursor()
            here = {n: (median_ms(lambda f=f: f(lcur, everyone), args.repeat),
                        median_ms(lambda f=f: f(lcur, one_user), args.repeat)) for n, f in q.DASHBOARDS.items()}
            local.close()
        reader.close()
        print(f"\n{'dashboard query':<28}{'pg+duckdb all':>14}{'1 user':>9}{'local all':>11}{'1 user':>9}"
              "   target < 1000 ms (incl. catch-up)")
        for name in q.DASHBOARDS:
            (a, u), (la, lu) = mirror[name], here[name]
            print(f"{name:<28}{a:>14.1f}{u:>9.1f}{la:>11.1f}{lu:>9.1f}   {'PASS' if max(a, u) < 1000 else 'FAIL'}")
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
