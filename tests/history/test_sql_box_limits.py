"""The SQL box cannot hurt other visitors: bounded text, a hard deadline, bounded results.

Each attack here froze or bloated the whole app before (issue 14, items 1-3); another visitor's
query runs alongside to show it is not slowed down.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from history.errors import SqlBoxBusy, SqlBoxError, SqlBoxTimeout
from history.slots import OwnerSlots
from history.sql_box import MAX_SQL_CHARS, run_sql
from history.store import HistoryStore


def _timed(store: HistoryStore, owner: str) -> float:
    started = time.perf_counter()
    run_sql(store.read_cursor(), "SELECT count(*) AS n FROM runs", owner)
    return time.perf_counter() - started


def _bobs_latency(store: HistoryStore, stop: threading.Event) -> list[float]:
    """Bob's small queries, timed, until `stop` (in a thread of its own, like another visitor)."""
    timings: list[float] = []

    def loop() -> None:
        while not stop.is_set():
            timings.append(_timed(store, "bob"))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    stop.wait()
    thread.join(30)
    return timings


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MB."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def test_a_huge_nested_query_is_refused_before_it_is_parsed(box_store: HistoryStore) -> None:
    attack = "SELECT " + "(" * 600_000 + "1" + ")" * 600_000  # 1.2 MB: parsing it froze the app for 9 s
    started = time.perf_counter()
    with pytest.raises(SqlBoxError, match=f"1,200,008 characters; the limit is {MAX_SQL_CHARS:,}"):
        run_sql(box_store.read_cursor(), attack, "alice")
    print(f"\nrefused in {(time.perf_counter() - started) * 1000:.1f} ms")
    assert time.perf_counter() - started < 0.1


def test_another_visitor_is_not_slowed_by_a_flood_of_huge_queries(box_store: HistoryStore) -> None:
    solo = [_timed(box_store, "bob") for _ in range(3)]
    stop = threading.Event()
    result: list[list[float]] = []
    bob = threading.Thread(target=lambda: result.append(_bobs_latency(box_store, stop)))
    bob.start()
    attack = "SELECT " + "(" * 600_000 + "1" + ")" * 600_000
    started = time.perf_counter()
    for _ in range(20):
        with pytest.raises(SqlBoxError, match="characters"):
            run_sql(box_store.read_cursor(), attack, "alice")
    flood_s = time.perf_counter() - started
    time.sleep(max(solo) * 2)  # let bob finish a query or two alongside
    stop.set()
    bob.join(30)
    print(f"\n20 attacks took {flood_s * 1000:.0f} ms; bob's query alone {max(solo):.2f}s, "
          f"during the attacks {max(result[0]):.2f}s at worst")
    assert flood_s < 1.0  # each one held the GIL for ~9 s before
    assert max(result[0]) < 3 * max(solo) + 1.0


def test_the_deadline_holds_when_duckdb_does_not_check_for_interrupts(box_store: HistoryStore) -> None:
    # One scalar call that runs ~14 s on one core and never checks for an interrupt.
    slow = "SELECT levenshtein(repeat('a', 80000), repeat('b', 80000)) AS d"
    started = time.perf_counter()
    with pytest.raises(SqlBoxTimeout, match="longer than 0.5s"):
        run_sql(box_store.read_cursor(), slow, "alice", timeout_s=0.5)
    print(f"\nstopped after {time.perf_counter() - started:.2f}s (0.5 s limit, child start-up included)")
    assert time.perf_counter() - started < 6.0  # child start-up + kill; ~14 s when merely interrupted


def test_one_query_at_a_time_per_visitor(box_store: HistoryStore) -> None:
    gate = OwnerSlots()  # the app's, shared by all its handlers
    slow = "SELECT levenshtein(repeat('a', 80000), repeat('b', 80000)) AS d"
    first = threading.Thread(target=lambda: pytest.raises(SqlBoxTimeout, run_sql, box_store.read_cursor(),
                                                          slow, "alice", timeout_s=2.0, gate=gate))
    first.start()
    time.sleep(0.5)
    with pytest.raises(SqlBoxBusy, match="your previous query is still running"):
        run_sql(box_store.read_cursor(), "SELECT 1 AS x", "alice", gate=gate)
    assert run_sql(box_store.read_cursor(), "SELECT 1 AS x", "bob", gate=gate).frame["x"].tolist() == [1]
    first.join(30)
    assert run_sql(box_store.read_cursor(), "SELECT 1 AS x", "alice", gate=gate).frame["x"].tolist() == [1]


def test_a_huge_result_is_cut_before_it_reaches_the_app(box_store: HistoryStore) -> None:
    # 4 rows of 40 MB each made a 160 MB response before.
    huge = "SELECT i, repeat('x', 40000000) AS blob FROM range(4) t(i)"
    peak_before = _peak_rss_mb()
    result = run_sql(box_store.read_cursor(), huge, "alice", max_bytes=1_000_000, timeout_s=30)
    print(f"\napp peak memory grew {_peak_rss_mb() - peak_before:.0f} MB for a 160 MB result")
    assert _peak_rss_mb() - peak_before < 50  # +1.1 GB in the app before
    assert len(result.frame) == 0 and result.truncated
    assert result.note == "first 0 rows shown: the result is limited to 1 MB"
    medium = "SELECT i, repeat('x', 300000) AS blob FROM range(10) t(i)"
    result = run_sql(box_store.read_cursor(), medium, "alice", max_bytes=1_000_000, timeout_s=30)
    assert result.frame["i"].tolist() == [0, 1, 2] and result.truncated
    assert result.note == "first 3 rows shown: the result is limited to 1 MB"
    many = run_sql(box_store.read_cursor(), "SELECT * FROM range(100) t(i)", "alice", row_limit=10)
    assert many.note == "first 10 rows shown: the result is limited to 10 rows"
    whole = run_sql(box_store.read_cursor(), "SELECT * FROM range(3) t(i)", "alice")
    assert not whole.truncated and whole.note == "3 rows"
