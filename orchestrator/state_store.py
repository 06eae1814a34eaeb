"""The small interfaces a run's state sits behind, and the embedded (SQLite) implementation.

A run needs three stores: its record (`RunRecords`: workflow, inputs, owner, status, the approval it
waits for, reserved sequence numbers), the tool journal (`ToolCalls`: at-most-once tool side effects
across a crash) and LangGraph's checkpointer. Locally they are the SQLite files of the data dir
(`RunStore`, `ToolJournal`, `open_saver`), exactly as before; in cluster mode the same Protocols are
met by PostgreSQL tables (`orchestrator.pg_state`). `orchestrator.deployment.open_run_state` picks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from orchestrator.checkpoints import RunStore, StoredRun, open_saver
from orchestrator.tool_journal import ToolJournal
from schemas.models import Workflow


class RunRecords(Protocol):
    path: Any  # where the records live, for messages (a file path, or "PostgreSQL")

    def create(self, run_id: str, workflow: Workflow, inputs: dict[str, Any], owner: str,
               model_override: str | None) -> None: ...
    def get(self, run_id: str) -> StoredRun | None: ...
    def set_status(self, run_id: str, status: str, *, pending: dict[str, Any] | None = None,
                   add_elapsed: float = 0.0) -> None: ...
    def crashed(self) -> list[tuple[str, str, str, float]]: ...
    def reserve_seq(self, run_id: str, up_to: int) -> None: ...
    def close(self) -> None: ...


class ToolCalls(Protocol):
    def start_segment(self, run_id: str) -> None: ...
    def replay(self, run_id: str, key: str) -> tuple[bool, str] | None: ...
    def begin(self, run_id: str, key: str) -> None: ...
    def end(self, run_id: str, key: str, ok: bool, text: str) -> None: ...
    def forget_run(self, run_id: str) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RunState:
    """Where one engine keeps its runs; `open_saver()` opens a checkpointer in the calling event loop."""

    records: RunRecords
    journal: ToolCalls
    open_saver: Callable[[], AbstractAsyncContextManager[Any]]
    where: str  # for messages: "the data dir '/x'" or "PostgreSQL"
    # True when an error means the store could not be reached (a lost connection, a restarting server): the
    # run itself is fine and continues from its checkpoint once the store is back. Local files: never.
    unreachable: Callable[[BaseException], bool] = lambda exc: False

    def close(self) -> None:
        self.journal.close()
        self.records.close()


def open_local_run_state(data_dir: Path) -> RunState:
    """Today's files: `runs.sqlite` (records and journal) and `checkpoints.sqlite` in `data_dir`."""
    records = RunStore(Path(data_dir))
    return RunState(records, ToolJournal(records.path), partial(open_saver, records.checkpoints),
                    f"the data dir '{data_dir}'")
