"""`graphwright migrate-history`: move a local installation's history and run state into PostgreSQL.

    GRAPHWRIGHT_POSTGRES_DSN=postgresql://gw@db/gw graphwright migrate-history --data-dir ./data

Stop the app first (the command takes the data dir's lock, as the app does). It copies the DuckDB
history (runs, steps, model calls, events, quota ledger, artifacts) and the run state (run records,
tool journal, LangGraph checkpoints, so paused runs can be resumed by any worker). The local files
are left as they were; running the command again copies nothing twice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser("migrate-history", help="copy the local history and run state into PostgreSQL "
                                "($GRAPHWRIGHT_POSTGRES_DSN) for cluster mode")
    cmd.add_argument("--data-dir", type=Path, default=None, help="the local installation's data dir "
                     "(default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    cmd.set_defaults(handler=cmd_migrate_history)


def cmd_migrate_history(args: argparse.Namespace) -> int:
    from history.errors import HistoryLocked
    from history.store import HistoryStore
    from orchestrator.deployment import DSN_VAR, Deployment, DeploymentError
    from orchestrator.paths import data_dir as default_data_dir

    try:
        dsn = Deployment.from_env().postgres_dsn
    except DeploymentError as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return 2
    if dsn is None:
        print(f"graphwright: set {DSN_VAR} to the PostgreSQL database to move the history into "
              "(e.g. postgresql://graphwright@db:5432/graphwright)", file=sys.stderr)
        return 2
    directory = args.data_dir if args.data_dir is not None else default_data_dir()
    if not (directory / "history.duckdb").exists():
        print(f"graphwright: no history in '{directory}' (pass --data-dir or set GRAPHWRIGHT_DATA_DIR)", file=sys.stderr)
        return 2
    import psycopg

    from history.pg_migrate import copy_history
    from orchestrator.pg_migrate import move_run_state

    try:
        local = HistoryStore.open(directory, mlflow=False)
    except HistoryLocked as exc:
        print(f"graphwright: stop the app first: {exc}", file=sys.stderr)
        return 2
    try:
        inserted = copy_history(local, dsn)
        state = move_run_state(directory, dsn)
    except psycopg.Error as exc:
        print(f"graphwright: could not write to PostgreSQL ({DSN_VAR}): {exc}; run the command again once it "
              "is reachable (rows already copied are not copied twice)", file=sys.stderr)
        return 1
    finally:
        local.close()
    print(", ".join(f"{table}: {n} new rows" for table, n in inserted.items()))
    print(f"run records: {state.runs}, tool calls: {state.tool_calls}, checkpoints: {state.checkpoints}")
    return 0
