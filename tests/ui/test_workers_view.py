"""The operator's worker-health table (cluster mode), as a pure mapper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cluster.health import LiveWorker
from ui.workers_view import is_operator, workers_markdown

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def test_each_worker_is_listed_with_its_queue_and_last_heartbeat_newest_first() -> None:
    workers = [LiveWorker("old-host:7", "runs", ("activity", "workflow"), NOW - timedelta(seconds=42)),
               LiveWorker("new-host:9", "runs", ("activity",), NOW - timedelta(seconds=1))]
    table = workers_markdown(workers, "runs", NOW)
    assert "**2 worker(s)** on task queue `runs`" in table
    assert table.index("new-host:9") < table.index("old-host:7")
    assert "| `old-host:7` | activity, workflow | 42 s ago |" in table


def test_no_worker_says_runs_wait_and_how_to_start_one() -> None:
    assert "No worker polls the task queue `runs`" in workers_markdown([], "runs", NOW)
    assert "graphwright worker" in workers_markdown([], "runs", NOW)


def test_only_named_operators_see_workers(monkeypatch) -> None:
    monkeypatch.delenv("GRAPHWRIGHT_OPERATORS", raising=False)
    assert not is_operator("alice") and not is_operator(None)
    monkeypatch.setenv("GRAPHWRIGHT_OPERATORS", "alice, bob")
    assert is_operator("alice") and not is_operator("carol") and not is_operator(None)
    monkeypatch.setenv("GRAPHWRIGHT_OPERATORS", "*")
    assert is_operator(None)
