"""Move a data dir's run state into PostgreSQL: run records, the tool journal and LangGraph checkpoints.

Part of `graphwright migrate-history`. Idempotent: rows already there are kept (`ON CONFLICT DO
NOTHING`), so a second run after an interruption finishes the job without duplicating anything.
Runs paused for approval (or interrupted) can then be resumed by any worker.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from orchestrator.checkpoints import FILE_NAME, RUNS_FILE_NAME
from orchestrator.pg_state import open_pg_run_state

_RUN_COLUMNS = ("run_id", "workflow_json", "inputs_json", "owner", "model_override", "status", "pending_json",
                "seq_reserved", "elapsed_s", "created", "updated")  # fmt: skip


@dataclass(frozen=True)
class StateMoved:
    runs: int
    tool_calls: int
    checkpoints: int


def move_run_state(data_dir: Path, dsn: str) -> StateMoved:
    runs_file, checkpoint_file = data_dir / RUNS_FILE_NAME, data_dir / FILE_NAME
    if not runs_file.exists():
        return StateMoved(0, 0, 0)
    open_pg_run_state(dsn).close()  # creates the tables (and LangGraph's) if missing
    import psycopg

    src = sqlite3.connect(f"file:{runs_file}?mode=ro", uri=True)
    try:
        runs = src.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM graphwright_runs").fetchall()
        has_journal = src.execute("SELECT 1 FROM sqlite_master WHERE name = 'graphwright_tool_calls'").fetchone()
        calls = src.execute("SELECT run_id, key, done, ok, result FROM graphwright_tool_calls").fetchall() \
            if has_journal else []
    finally:
        src.close()
    with psycopg.connect(dsn) as con, con.transaction():
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO graphwright_runs ({', '.join(_RUN_COLUMNS)}) VALUES "
                            f"({', '.join(['%s'] * len(_RUN_COLUMNS))}) ON CONFLICT DO NOTHING", runs)
            cur.executemany("INSERT INTO graphwright_tool_calls (run_id, key, done, ok, result) "
                            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", calls)
    return StateMoved(len(runs), len(calls), _move_checkpoints(checkpoint_file, dsn) if checkpoint_file.exists() else 0)


def _move_checkpoints(path: Path, dsn: str) -> int:
    """Every checkpoint (oldest first, each under its parent) with its pending writes."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    moved = 0
    try:
        tuples = list(SqliteSaver(src).list(None))
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as con:
            dest = PostgresSaver(con)  # type: ignore[arg-type]
            for item in reversed(tuples):  # `list` is newest first within a thread
                conf = item.config["configurable"]
                parent = {"configurable": {"thread_id": conf["thread_id"], "checkpoint_ns": conf.get("checkpoint_ns", ""),
                                           "checkpoint_id": (item.parent_config or {}).get("configurable", {})
                                           .get("checkpoint_id")}}
                stored = dest.put(parent, item.checkpoint, item.metadata, item.checkpoint["channel_versions"])
                by_task: dict[str, list[tuple[str, object]]] = {}
                for task_id, channel, value in item.pending_writes or []:
                    by_task.setdefault(task_id, []).append((channel, value))
                for task_id, writes in by_task.items():
                    dest.put_writes(stored, writes, task_id)
                moved += 1
    finally:
        src.close()
    return moved
