"""No acknowledged row is lost across `kill -9`: a writer is killed mid-stream again and again, whether
it writes the DuckDB file or (as a CLI run does) a spool of the inbox that the next open ingests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from history.store import HistoryStore

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    from history.spool import Spool
    from history.store import HistoryStore
    from orchestrator import events as ev

    data_dir, run_id = sys.argv[1], sys.argv[2]
    store = HistoryStore.open(data_dir) if sys.argv[3] == "store" else Spool.create(data_dir)
    store.record(ev.RunStarted(run_id=run_id, workflow="w", owner="crash"))
    seq = 0
    while True:
        for _ in range(50):
            seq += 1
            store.record(ev.LLMCall(run_id=run_id, seq=seq, model="m", tokens_in=seq))
        store.flush(30)
        print(seq, flush=True)  # acknowledged: every call up to `seq` is committed
""")


@pytest.mark.slow
@pytest.mark.parametrize("writer", ["store", "spool"])
def test_kill_9_never_loses_an_acknowledged_row(data_dir: Path, writer: str) -> None:
    rng = random.Random(4)
    acknowledged: dict[str, int] = {}
    for attempt in range(5):
        run_id = f"crash-{attempt}"
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir), run_id, writer],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        last = 0
        for _ in range(rng.randint(1, 40)):
            line = child.stdout.readline()
            assert line, "the writer died on its own"
            last = int(line)
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: it keeps recording between acks
        child.wait(10)
        acknowledged[run_id] = last

    with HistoryStore.open(data_dir) as store:
        cur = store.read_cursor()
        counts = dict(cur.execute("SELECT run_id, count(*) FROM llm_calls GROUP BY run_id").fetchall())
        distinct = dict(cur.execute("SELECT run_id, count(DISTINCT seq) FROM llm_calls GROUP BY run_id").fetchall())
        statuses = {r[0] for r in cur.execute("SELECT status FROM runs WHERE owner = 'crash'").fetchall()}
    for run_id, last in acknowledged.items():
        assert counts[run_id] >= last, f"{run_id}: {last} acknowledged, {counts[run_id]} on disk"
        assert distinct[run_id] == counts[run_id]  # and nothing written twice
    assert statuses == {"interrupted"}  # each reopen (or the ingest of its spool) marked the killed run
    assert not (data_dir / "inbox").exists() or list((data_dir / "inbox").iterdir()) == []  # spools ingested
