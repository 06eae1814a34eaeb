"""`graphwright runs`: recent runs from run history, so a run id to `resume` is one command away."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

_COLUMNS = ("run id", "workflow", "version", "status", "started", "cost")


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="list recent runs (id, workflow, config version, status, started, cost)")
    runs.add_argument("--limit", "-n", type=int, default=20, help="how many runs, newest first (default 20)")
    runs.add_argument("--all-users", action="store_true", help="every user's runs, not only $USER's")
    runs.add_argument("--data-dir", type=Path, default=None, help="where history lives "
                      "(default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    runs.set_defaults(handler=cmd_runs)


def cmd_runs(args: argparse.Namespace) -> int:
    from history.backend import open_history
    from history.errors import HistoryLocked
    from history.queries import Filters, list_runs
    from orchestrator.deployment import Deployment

    owner = None if args.all_users else os.environ.get("USER", "")
    try:
        store = open_history(args.data_dir, Deployment.from_env(), mlflow=False)
    except HistoryLocked as exc:
        print(f"graphwright: cannot read run history now ({exc})", file=sys.stderr)
        return 2
    for problem in getattr(store, "inbox_problems", ()):  # a spooled run that could not be ingested
        print(f"warning: {problem}", file=sys.stderr)
    try:
        frame = list_runs(store.read_cursor(), Filters(owner=owner), limit=max(1, args.limit))
    finally:
        store.close()
    if frame.empty:
        print("no runs yet; start one with `graphwright run FILE`", file=sys.stderr)
        return 0
    rows = [(r.run_id, r.workflow, (r.config_hash or "")[:8], _status(r), str(r.started_at)[:19],
             f"${(r.cost_usd or 0):.4f}") for r in frame.itertuples()]
    widths = [max(len(str(v)) for v in column) for column in zip(_COLUMNS, *rows, strict=False)]
    for row in (_COLUMNS, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print("continue a paused or stopped run with `graphwright resume RUN_ID` "
          "(add --approve or --reject [--feedback TEXT] for an approval)", file=sys.stderr)
    return 0


def _status(run: Any) -> str:
    reason = run.reason if isinstance(run.reason, str) and run.reason else ""
    if run.status in ("interrupted", "cancelled") and reason:
        return f"{run.status} ({reason})"
    return str(run.status)
