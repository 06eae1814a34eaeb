"""The store: acknowledged writes, one process per data dir, crashed runs, resumes, full disks, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from history import queries as q
from history.errors import HistoryLocked
from history.queries import Filters
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import Call, Step, record_all, run_events

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_recording_is_queued_and_flush_acknowledges(store: HistoryStore) -> None:
    events = run_events("r1", steps=[Step("a", 1.0, [Call("m", 0.01, 0.5)])])
    started = time.perf_counter()
    record_all(store, events)
    assert time.perf_counter() - started < 1.0
    assert store.flush(10) is True
    assert store.stats() == {"enqueued": 5, "committed": 5, "rejected": 0, "error": None}
    assert q.run_events(store.read_cursor(), "r1", "alice")["type"].tolist()[0] == "run_started"


def test_run_started_is_written_before_record_returns(store: HistoryStore) -> None:
    store.record(ev.RunStarted(run_id="early", workflow="w", owner="alice"))
    row = store.read_cursor().execute("SELECT status FROM runs WHERE run_id = 'early'").fetchone()
    assert row == ("running",)


def test_a_second_process_on_the_same_data_dir_exits_at_once(store: HistoryStore, data_dir: Path) -> None:
    started = time.monotonic()
    result = _python(
        """
        import sys
        from history.errors import HistoryLocked
        from history.store import HistoryStore
        try:
            HistoryStore.open(sys.argv[1])
        except HistoryLocked as exc:
            sys.exit(str(exc))
        """,
        str(data_dir),
    )
    assert result.returncode == 1
    assert f"in use by process {os.getpid()}" in result.stderr and "GRAPHWRIGHT_DATA_DIR" in result.stderr
    assert time.monotonic() - started < 20
    with pytest.raises(HistoryLocked):  # and in this process too: the lock is per open, not per pid
        HistoryStore.open(data_dir)


def test_runs_in_flight_when_the_process_died_are_interrupted_at_next_start(data_dir: Path) -> None:
    first = HistoryStore.open(data_dir)
    record_all(first, run_events("done", steps=[Step("a", 1.0, [Call("m", 0.1, 1.0)])]))
    record_all(first, run_events("inflight", end="none", steps=[Step("a", 1.0, [Call("m", 0.2, 1.0)])]))
    first.close()  # no terminal event for 'inflight': on disk exactly as after a kill
    second = HistoryStore.open(data_dir)
    try:
        assert second.interrupted_on_open == ["inflight"]
        cur = second.read_cursor()
        runs = q.list_runs(cur, Filters(owner="alice")).set_index("run_id")
        assert runs.loc["inflight", "status"] == "interrupted" and runs.loc["inflight", "reason"] == "process_died"
        assert runs.loc["inflight", "cost_usd"] == pytest.approx(0.2)  # its finished steps
        assert q.resumable_runs(cur, "alice")["run_id"].tolist() == ["inflight"]
        assert q.replay(cur, "inflight", "alice")[-1].type == "run_interrupted"
    finally:
        second.close()


def _segment0(crash_after_step_finished: bool) -> list[ev.Event]:
    steps = [Step("a", 1.0, [Call("m", 0.1, 1.0)]), Step("b", 1.0, [Call("m", 0.2, 1.0)])]
    events = run_events("r", end="none", steps=steps)
    return events if crash_after_step_finished else events[:-1]  # drop b's step_finished


@pytest.mark.parametrize("crash_after_step_finished", [False, True])
def test_a_resumed_run_counts_the_re_run_step_once(data_dir: Path, crash_after_step_finished: bool) -> None:
    first = HistoryStore.open(data_dir)
    record_all(first, _segment0(crash_after_step_finished))
    first.close()
    second = HistoryStore.open(data_dir)
    # The checkpoint holds step a (its call, seq 2, and its finish, seq 3) but not b: whether b was in
    # flight or had finished a moment before the kill, its result was lost and b runs again.
    resume = [
        ev.RunStarted(run_id="r", seq=1000, workflow="triage", owner="alice", resumed=True, accounted=[2, 3]),
        ev.StepStarted(run_id="r", seq=1001, step_id="b", step_type="llm"),
        ev.LLMCall(run_id="r", seq=1002, step_id="b", model="m", cost_usd=0.2, tokens_in=100, tokens_out=50),
        ev.StepFinished(run_id="r", seq=1003, step_id="b", step_type="llm", cost_usd=0.2, tokens_in=100,
                        tokens_out=50),
        ev.RunFinished(run_id="r", seq=1004, duration_s=3.0, tokens_in=200, tokens_out=100, cost_usd=0.3),
    ]
    record_all(second, resume)
    second.flush(10)
    cur = second.read_cursor()
    run = q.list_runs(cur, Filters(owner="alice")).iloc[0]
    assert (run.status, run.segments, run.cost_usd, run.tokens_in) == ("finished", 2, pytest.approx(0.3), 200)
    calls = q.run_calls(cur, "r", "alice")
    assert len(calls) == 3 and calls["superseded"].tolist() == [False, True, False]  # kept, but flagged
    assert q.cost_by_day(cur, Filters(owner="alice"))["cost_usd"].sum() == pytest.approx(0.3)
    assert q.latency_by_step(cur, Filters(owner="alice"))["runs"].sum() == 2
    steps = cur.execute("SELECT step_id, superseded FROM steps WHERE run_id = 'r' ORDER BY seq").fetchall()
    assert steps == [("a", False), *([("b", True)] if crash_after_step_finished else []), ("b", False)]
    assert [e.type for e in q.replay(cur, "r", "alice")].count("run_started") == 2
    second.close()


def test_secrets_never_reach_the_history_file(store: HistoryStore) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    store.record(ev.RunStarted(run_id="s", workflow="w", owner="alice", inputs={"note": f"use {key}"}))
    store.record(ev.LLMCall(run_id="s", seq=1, model="m", error=f"401: invalid key {key}"))
    store.record(ev.RunFailed(run_id="s", seq=2, reason="provider_error", message=f"Bearer {key} rejected"))
    store.flush(10)
    cur = store.read_cursor()
    texts = cur.execute(
        "SELECT payload FROM events UNION ALL SELECT error FROM llm_calls"
        " UNION ALL SELECT message FROM runs UNION ALL SELECT inputs FROM runs"
    ).fetchall()
    assert len(texts) == 5 and all(key not in t[0] and "[REDACTED]" in t[0] for t in texts)
    assert q.replay(cur, "s", "alice")[1].error == "401: invalid key [REDACTED]"


FULL_DISK = """
import json, os, resource, signal, sys
from history import queries as q
from history.errors import HistoryWriteError, QueueFull
from history.store import HistoryStore
from orchestrator import events as ev

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG instead
store = HistoryStore.open(sys.argv[1], queue_size=500, batch_size=100)
store.record(ev.RunStarted(run_id="r", workflow="w", owner="a"))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(str(store.path) + ".wal") + 100_000, hard))
out = {"write_error": None, "queue_full": None, "recorded": 1}
for i in range(100_000):
    try:
        store.record(ev.Warning(run_id="r", seq=i + 1, message="x" * 2000))
        out["recorded"] += 1
    except QueueFull as exc:
        out["queue_full"] = str(exc)
        break
    try:
        store.flush(0.001)
    except HistoryWriteError as exc:
        out["write_error"] = str(exc)
out["serving"] = int(q.kpis(store.read_cursor(), q.Filters(owner="a"))["runs"][0])
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space freed
out["flushed"] = store.flush(30)
out["rows"] = store.read_cursor().execute("SELECT count(*) FROM events").fetchone()[0]
store.close()
print(json.dumps(out))
"""


def test_a_full_disk_fails_writes_clearly_keeps_serving_and_recovers(data_dir: Path) -> None:
    result = _python(FULL_DISK, str(data_dir), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "File too large" in out["write_error"] and "free disk space" in out["write_error"]
    assert "queue is full" in out["queue_full"]  # reported to the caller, never silently dropped
    assert out["serving"] == 1
    assert out["flushed"] is True and out["rows"] == out["recorded"]


def test_the_data_dir_comes_from_the_environment(data_dir: Path) -> None:
    with HistoryStore.open() as store:  # GRAPHWRIGHT_DATA_DIR, set by the data_dir fixture
        assert store.path == data_dir / "history.duckdb"
        assert (data_dir / "graphwright.lock").read_text() == str(os.getpid())


def test_the_engine_sink_reports_instead_of_raising(store: HistoryStore, caplog: pytest.LogCaptureFixture) -> None:
    sink = store.sink
    store.close()
    sink(ev.Warning(run_id="late", message="after shutdown"))  # a run must never die of its history
    assert "history did not record 'warning' of run 'late'" in caplog.text
