"""The history inbox: runs spooled by other processes reach the DuckDB file exactly once, scrubbed,
and a spool that cannot be read is reported and kept."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from history.spool import INBOX_DIR, Spool
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import Call, Step, record_all, run_events

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
TABLES = {"runs": "run_id", "steps": "run_id, seq", "llm_calls": "run_id, seq", "events": "id",
          "artifacts": "run_id, name", "config_versions": "owner, hash"}


def _first_segment() -> list[ev.Event]:
    """Run `r` pauses for an approval after step a (its process ends there)."""
    return [ev.RunStarted(run_id="r", seq=1, workflow="triage", owner="alice"),
            ev.StepStarted(run_id="r", seq=2, step_id="a", step_type="llm"),
            ev.LLMCall(run_id="r", seq=3, step_id="a", model="m", cost_usd=0.1, tokens_in=100, tokens_out=50),
            ev.StepFinished(run_id="r", seq=4, step_id="a", step_type="llm", cost_usd=0.1, tokens_in=100,
                            tokens_out=50, output={"text": "drafted"}),
            ev.ApprovalRequested(run_id="r", seq=5, step_id="ok", message="Go ahead?"),
            ev.RunInterrupted(run_id="r", seq=6)]


def _second_segment() -> list[ev.Event]:
    """`graphwright resume r --approve`: another process finishes it."""
    return [ev.RunStarted(run_id="r", seq=100, workflow="triage", owner="alice", resumed=True, accounted=[3, 4]),
            ev.ApprovalResolved(run_id="r", seq=101, step_id="ok", approved=True),
            ev.Token(run_id="r", seq=102, step_id="b", text="edited"),
            ev.ArtifactWritten(run_id="r", seq=103, step_id="b", name="out.md", format="markdown", bytes=6,
                               sha256="0" * 64),
            ev.RunFinished(run_id="r", seq=104, duration_s=2.0, tokens_in=100, tokens_out=50, cost_usd=0.1)]


def _spool(data_dir: Path, events: list[ev.Event]) -> Path:
    """What one CLI process leaves in the inbox: its events, committed, and the spool closed."""
    spool = Spool.create(data_dir)
    record_all(spool, events)
    spool.close()
    return spool.path


def _tables(store: HistoryStore) -> dict[str, list[tuple]]:
    cur = store.read_cursor()
    return {t: cur.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall() for t, key in TABLES.items()}


def test_spooled_runs_become_the_same_rows_as_runs_recorded_directly(tmp_path: Path) -> None:
    finished = run_events("a1", steps=[Step("s", 1.0, [Call("m1", 0.1, 1.0), Call("m2", 0.2, 0.5)])])
    failed = run_events("b1", owner="bob", steps=[Step("s", 1.0, [Call("m1", 5.0, 1.0, error="timeout")])],
                        end="failed")
    paused, resumed = _first_segment(), _second_segment()
    with HistoryStore.open(tmp_path / "direct", mlflow=False) as direct:
        for events in (finished, failed, paused, resumed):
            record_all(direct, events)
        direct.flush(10)
        expected = _tables(direct)

    spooled = tmp_path / "spooled"  # three CLI processes: two runs; a pause; its resume
    paths = [_spool(spooled, finished + failed), _spool(spooled, paused), _spool(spooled, resumed)]
    with HistoryStore.open(spooled, mlflow=False) as store:
        assert _tables(store) == expected
        run = store.read_cursor().execute("SELECT status, segments, cost_usd FROM runs WHERE run_id = 'r'").fetchone()
        assert run == ("finished", 2, 0.1)
        assert store.inbox_problems == []
    assert not any(p.exists() for p in paths), "ingested spools are deleted"


def test_a_spool_read_again_adds_nothing(tmp_path: Path) -> None:
    """A crash after the DuckDB commit but before the spool was deleted: the spool is ingested again."""
    path = _spool(tmp_path, run_events("a1", steps=[Step("s", 1.0, [Call("m1", 0.1, 1.0)])]))
    copy = path.read_bytes()
    with HistoryStore.open(tmp_path, mlflow=False) as store:
        first = _tables(store)
    assert not path.exists()
    path.write_bytes(copy)
    with HistoryStore.open(tmp_path, mlflow=False) as store:
        assert _tables(store) == first
    assert not path.exists()


def test_secrets_never_reach_the_spool(tmp_path: Path) -> None:
    version = ev.RunVersion(original=f"# key: {KEY}\nname: w\n", canonical="name: w\n", chat_request=f"use {KEY}")
    path = _spool(tmp_path, [
        ev.RunStarted(run_id="s", workflow="w", owner="alice", inputs={"note": f"use {KEY}"}, version=version,
                      config_hash="h"),
        ev.Token(run_id="s", seq=1, step_id="a", text=f"the key is {KEY}"),
        ev.LLMCall(run_id="s", seq=2, model="m", error=f"401: invalid key {KEY}"),
        ev.StepFinished(run_id="s", seq=3, step_id="a", step_type="llm", output={"said": KEY}),
        ev.RunFailed(run_id="s", seq=4, reason="provider_error", message=f"Bearer {KEY} rejected")])
    on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"events" in on_disk and b"REDACTED" in on_disk  # the rows are there, scrubbed
    assert KEY.encode() not in on_disk and KEY[8:30].encode() not in on_disk
    with HistoryStore.open(tmp_path, mlflow=False) as store:
        cur = store.read_cursor()
        assert cur.execute("SELECT count(*) FROM events WHERE run_id = 's'").fetchone() == (4,)
        assert cur.execute("SELECT original, chat_request FROM config_versions").fetchone() == (
            "# key: [REDACTED]\nname: w\n", "use [REDACTED]")


def test_a_corrupt_or_partial_spool_is_reported_and_kept(tmp_path: Path) -> None:
    inbox = tmp_path / INBOX_DIR
    inbox.mkdir()
    garbage = inbox / "20261130T000000-1-00000000.spool"
    garbage.write_bytes(b"not a database, just a copy that broke off" * 100)
    partial = _spool(tmp_path, run_events("a1", steps=[Step("s", 1.0, [Call("m1", 0.1, 1.0)])]))
    with sqlite3.connect(partial) as con:  # the run's end is damaged: its step and call are still good
        con.execute("UPDATE events SET body = '{\"type\": \"run_fini' WHERE type = 'run_finished'")

    with HistoryStore.open(tmp_path, mlflow=False) as store:
        problems = store.inbox_problems
        cur = store.read_cursor()
        counted = cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = 'a1'").fetchone()
        assert counted == (1,)  # the rows before the bad one are in history
    assert len(problems) == 2
    assert f"{garbage}: not a run-history spool" in problems[0] and "the file is kept" in problems[0]
    assert f"{partial}: row 5 is not a run event" in problems[1]
    assert garbage.exists() and partial.exists()

    listed = subprocess.run([sys.executable, "-m", "graphwright", "runs", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert f"warning: run-history inbox: {garbage}" in listed.stderr and str(partial) in listed.stderr
    with HistoryStore.open(tmp_path, mlflow=False) as store:  # read again: still once
        assert store.read_cursor().execute("SELECT count(*) FROM llm_calls").fetchone() == (1,)
