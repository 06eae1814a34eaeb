"""Where history is written and read, picked once from the deployment (the history's one switch).

    store = open_history(data_dir, Deployment.from_env())
    engine = Engine(sinks=[store.sink]); queries.kpis(store.read_cursor(), Filters(owner=...))

Locally: the DuckDB file of the data dir (`HistoryStore`), one process; other processes' runs (the
CLI's) reach it through the inbox (`history.spool`, `history.inbox`). With
`GRAPHWRIGHT_POSTGRES_DSN`: PostgreSQL tables written by every worker and app replica, read through
DuckDB (`history.pg_store`, imported only then). Both meet `History`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import duckdb

from history.ledger import RunLedger
from history.slots import RunSlots
from history.store import HistoryStore
from orchestrator import events as ev
from orchestrator.deployment import Deployment


class History(Protocol):
    def record(self, event: ev.Event, *, wait: bool | None = None, timeout: float = 10.0) -> None: ...
    @property
    def sink(self) -> Callable[[ev.Event], None]: ...
    def execute_now(self, sql: str, params: list[Any]) -> None: ...
    def flush(self, timeout: float | None = 30.0) -> bool: ...
    def stats(self) -> dict[str, Any]: ...
    def read_cursor(self) -> duckdb.DuckDBPyConnection: ...
    def run_slots(self) -> RunSlots: ...
    def run_ledger(self) -> RunLedger: ...
    def close(self, timeout: float = 30.0) -> None: ...


def open_history(data_dir: str | Path | None, deployment: Deployment, *, recover: bool = False,
                 follow_inbox: bool = False, **kwargs: Any) -> HistoryStore:
    """The history store of this deployment (`kwargs` as for `HistoryStore.open`).

    `recover` (the app's start-up): locally, record the runs a crash killed before their first
    history row. In cluster mode a run still marked running may be live on a worker: left alone.
    `follow_inbox` (the app): locally, keep ingesting the runs CLI processes spool while it is open.
    """
    if deployment.postgres_dsn is not None:
        from history.pg_store import PgHistoryStore

        return PgHistoryStore(deployment.postgres_dsn, **kwargs)
    store = HistoryStore.open(data_dir, **kwargs)
    if recover:
        from history.recovery import record_unrecorded_runs

        record_unrecorded_runs(store, store.path.parent)
    if follow_inbox:
        store.follow_inbox()
    return store
