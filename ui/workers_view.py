"""Worker health for the operator (cluster mode): who polls the run task queue, and when last seen.

Only operators see it — signed-in users named in `GRAPHWRIGHT_OPERATORS` (comma-separated; `*` for
everyone, e.g. a private deployment without sign-in): host names and process ids are the
deployment's business, not a visitor's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

OPERATORS_ENV = "GRAPHWRIGHT_OPERATORS"


def is_operator(user: str | None) -> bool:
    names = {n.strip() for n in os.environ.get(OPERATORS_ENV, "").split(",") if n.strip()}
    return "*" in names or (user is not None and user in names)


def workers_markdown(workers: Sequence[Any], task_queue: str, now: datetime | None = None) -> str:
    """A table of the live workers (`cluster.health.LiveWorker`), newest contact first."""
    if not workers:
        return (f"**No worker polls the task queue `{task_queue}`.** Runs wait in the queue until one starts "
                "(`graphwright worker`).")
    now = now or datetime.now(UTC)
    lines = [f"**{len(workers)} worker(s)** on task queue `{task_queue}`:", "",
             "| worker (host:pid) | polls for | last heartbeat |", "|---|---|---|"]
    for worker in sorted(workers, key=lambda w: w.last_seen or datetime.min.replace(tzinfo=UTC), reverse=True):
        seen = worker.last_seen
        ago = f"{max(0.0, (now - seen).total_seconds()):.0f} s ago" if seen else "unknown"
        lines.append(f"| `{worker.identity}` | {', '.join(worker.kinds)} | {ago} |")
    return "\n".join(lines)
