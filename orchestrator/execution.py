"""Where runs execute: the one interface the Run tab and the CLI drive a run through.

Local mode is today's in-process `Engine` (orchestrator.runner), which satisfies this protocol as it
is. Cluster mode (`GRAPHWRIGHT_TEMPORAL_ADDRESS` set) is `cluster.executor.ClusterExecutor`: the same
calls start or signal a Temporal workflow, a `graphwright worker` process drives the run, and the
events come back through Postgres. Both yield the same `orchestrator.events` objects in the same
order, so the consumers (trace, history, CLI view) cannot tell them apart; cancelling the iterator
stops the run in both — except the app's cluster executor, where it only means the visitor left that
replica (the run goes on; its Stop button calls the executor's `stop`, and any replica's page finds it on
load through `follow_running`). In-process a run lives in the page handler that started it, so there
is never one going on elsewhere: the local engine answers that, and the page asks in both modes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from orchestrator import events as ev
    from orchestrator.replay import ReplayPlan
    from orchestrator.runner import ApprovalDecision

TEMPORAL_ADDRESS_ENV = "GRAPHWRIGHT_TEMPORAL_ADDRESS"


class RunExecutor(Protocol):
    def run(self, workflow: Any, inputs: dict[str, Any], *, owner: str = "", run_id: str | None = None,
            model_override: str | None = None, origin: ev.RunOrigin | None = None,
            replay: ReplayPlan | None = None) -> AsyncIterator[ev.Event]:
        """Start a run; its events, ending with one terminal event (`origin`: where its config came from,
        for its version in history; `replay`: which step executions are served from a source run)."""
        ...

    def resume(self, run_id: str, *, approval: ApprovalDecision | None = None,
               owner: str = "") -> AsyncIterator[ev.Event]:
        """Continue a paused, stopped or crashed run (with a person's decision when it waits for one)."""
        ...

    def follow_running(self, owner: str) -> AsyncIterator[ev.Event]:
        """`owner`'s run going on outside the caller (started before a page reload, or through another app
        replica): its events recorded so far, then live until it ends or pauses; nothing when there is none.
        Never starts or stops anything. What a page shows on load, in either mode."""
        ...


def cluster_mode() -> bool:
    """Whether runs execute on Temporal workers (`GRAPHWRIGHT_TEMPORAL_ADDRESS` is set)."""
    return bool(os.environ.get(TEMPORAL_ADDRESS_ENV, "").strip())
