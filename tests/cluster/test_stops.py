"""Which segment a Stop announced through PostgreSQL cancels on a worker (`cluster.stops`); the delivery itself
is tested end to end in `test_runs_faults.py` and `test_runs_sandbox.py`."""

from __future__ import annotations

import pytest

from cluster.stops import StopListener, payload

pytestmark = pytest.mark.cluster


def test_a_stop_cancels_the_segment_of_its_own_workflow_only() -> None:
    listener, stopped = StopListener("postgresql://unused"), []
    listener.register("run-1", "wf-a", lambda: stopped.append("run-1"))
    listener.register("run-2", "wf-b", lambda: stopped.append("run-2"))
    listener.announced(payload("run-1", "wf-a"))
    assert stopped == ["run-1"]


def test_a_stop_announced_while_its_segment_was_starting_applies_when_the_segment_registers() -> None:
    listener, stopped = StopListener("postgresql://unused"), []
    listener.announced(payload("run-1", "wf-a"))
    listener.register("run-1", "wf-a", lambda: stopped.append("wf-a"))
    assert stopped == ["wf-a"]


def test_a_run_resumed_after_a_stop_is_a_new_workflow_that_the_stop_leaves_alone() -> None:
    listener, stopped = StopListener("postgresql://unused"), []
    listener.announced(payload("run:with:colons", "wf-a"))  # the workflow that was stopped (it had no segment here)
    unregister = listener.register("run:with:colons", "wf-b", lambda: stopped.append("wf-b"))
    unregister()
    listener.announced(payload("run:with:colons", "wf-b"))  # after its segment ended: nothing to cancel
    assert stopped == []
