"""A CLI run's history goes through the inbox: recorded while the app holds the DuckDB file, and
nothing acknowledged lost (nor counted twice) when the run is killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from history.spool import INBOX_DIR
from history.store import HistoryStore
from testkit.replies import Reply
from tests.orchestrator.test_cli_run import ROOT, TWO_STEPS, _cli, _env, _events


def _spooled(data_dir: Path) -> list[tuple[str, str, int]]:
    """(run, type, seq) of every event committed to the inbox's spools."""
    rows = []
    for path in sorted((data_dir / INBOX_DIR).glob("*.spool")):
        with sqlite3.connect(path) as con:
            rows += con.execute("SELECT run_id, type, seq FROM events ORDER BY id").fetchall()
    return rows


def _recorded(store: HistoryStore, run_id: str) -> list[tuple[str, str, int]]:
    """(run, type, seq) of the run's events in the DuckDB history: its event log and its model calls."""
    return sorted(store.read_cursor().execute(
        "SELECT run_id, type, seq FROM events WHERE run_id = ? "
        "UNION ALL SELECT run_id, 'llm_call', seq FROM llm_calls WHERE run_id = ?", [run_id, run_id]).fetchall(),
        key=lambda r: r[2])


def test_a_cli_run_made_while_the_app_holds_history_shows_up_in_it(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    llm_server.script(Reply(text="first"), Reply(text="second"))
    from ui.services import AppServices

    services = AppServices.create(tmp_path / "d")  # what `app.py` opens: it holds the DuckDB file
    assert services.history is not None
    with services.history as app:
        done = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "-i", "topic=tides", "--json",
                                   "--data-dir", str(tmp_path / "d")),
                              env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
        ended = time.monotonic()
        assert done.returncode == 0, done.stderr[-2000:]
        assert "not recorded" not in done.stderr
        events = _events(done.stdout)
        run_id, end = events[0]["run_id"], events[-1]
        cur = app.read_cursor()
        while cur.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone() != ("finished",):
            assert time.monotonic() - ended < 15, "the app did not ingest the CLI's run"
            time.sleep(0.05)
        seen_after = time.monotonic() - ended
        row = cur.execute("SELECT workflow, tokens_in, tokens_out, cost_usd FROM runs WHERE run_id = ?",
                          [run_id]).fetchone()
        assert row == ("two-steps", end["tokens_in"], end["tokens_out"], end["cost_usd"])
        assert _recorded(app, run_id) == [(run_id, e["type"], e["seq"]) for e in events]
        deadline = time.monotonic() + 10
        while list((tmp_path / "d" / INBOX_DIR).iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list((tmp_path / "d" / INBOX_DIR).iterdir()) == [], "an ingested spool is deleted, WAL and all"
    print(f"\nin the app's history {seen_after:.2f} s after the CLI exited")


def test_a_killed_cli_run_loses_no_spooled_event_and_is_counted_once(tmp_path: Path, llm_server) -> None:
    """kill -9 during step two: every event the spool committed reaches history once (some read while
    the run went on, the rest after), the run shows as interrupted (resumable), and ingesting the same
    spool again (a crash before it was deleted) adds nothing."""
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    llm_server.script(Reply(text="first"), Reply(text="never arrives", latency=120))
    data = tmp_path / "d"
    child = subprocess.Popen(_cli("run", str(tmp_path / "wf.yaml"), "-i", "topic=tides", "--json",
                                  "--data-dir", str(data)),
                             env=_env(llm_server), stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if json.loads(line)["type"] == "step_started" and json.loads(line)["step_id"] == "two":
                break
        deadline = time.monotonic() + 60
        while [t for _, t, _ in _spooled(data)].count("step_started") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # step two's start is committed to the spool
        with HistoryStore.open(data, mlflow=False) as store:  # `graphwright runs` while the run goes on
            run_id = _spooled(data)[0][0]
            going = store.read_cursor().execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
        assert going == ("running",)  # ingested so far, and not taken for dead: its process holds the spool
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    spooled = _spooled(data)
    assert {"step_finished", "llm_call"} <= {t for _, t, _ in spooled}
    [spool] = (data / INBOX_DIR).glob("*.spool")
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in spool.parent.glob(spool.name + "*"):
        shutil.copy(path, kept / path.name)

    with HistoryStore.open(data, mlflow=False) as store:
        recorded = _recorded(store, run_id)
        status = store.read_cursor().execute("SELECT status, reason FROM runs WHERE run_id = ?", [run_id]).fetchone()
    assert recorded[:-1] == spooled and recorded[-1][1] == "run_interrupted"
    assert status == ("interrupted", "process_died")
    assert not spool.exists()

    for path in kept.iterdir():  # the spool is back, as if the ingest had crashed before deleting it
        shutil.copy(path, spool.parent / path.name)
    with HistoryStore.open(data, mlflow=False) as store:
        assert _recorded(store, run_id) == recorded
    assert list(spool.parent.iterdir()) == []
