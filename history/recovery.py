"""Start-up recovery across the two stores a run lives in: the engine's run table and the history.

The engine creates a run (`runs.sqlite`) a moment before its `RunStarted` reaches the history; a
process killed in between leaves a resumable run the history has never heard of, so the Run tab
could not offer it. `record_unrecorded_runs` gives each such run its record, marked interrupted.
"""

from __future__ import annotations

from pathlib import Path

from history.store import HistoryStore
from orchestrator import events as ev


def record_unrecorded_runs(store: HistoryStore, data_dir: Path) -> list[str]:
    """Record every crashed engine run missing from the history as interrupted; returns their ids.

    Call at start-up, after `HistoryStore.open` (which holds the data dir's lock), before runs start.
    """
    from orchestrator.checkpoints import RUNS_FILE_NAME, RunStore

    if not (Path(data_dir) / RUNS_FILE_NAME).exists():
        return []
    runs = RunStore(Path(data_dir))
    try:
        crashed = runs.crashed()
    finally:
        runs.close()
    if not crashed:
        return []
    ids = [c[0] for c in crashed]
    known = {r[0] for r in store.read_cursor().execute(
        "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()}
    missing = [c for c in crashed if c[0] not in known]
    for run_id, workflow, owner, created in missing:
        store.record(ev.RunStarted(run_id=run_id, workflow=workflow, owner=owner, ts=created), wait=False)
        store.record(ev.RunInterrupted(run_id=run_id, reason="process_died", seq=1, ts=created), wait=False)
    store.flush()
    return [m[0] for m in missing]
