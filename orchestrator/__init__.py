"""The engine: a validated workflow compiled to a LangGraph graph, run with one typed event stream.

    from orchestrator import Engine, ApprovalDecision, Policy
    async for event in Engine(data_dir=path).run(workflow, {"topic": "tides"}):
        ...

Every run segment ends with exactly one terminal event: `run_finished`, `run_failed` (provider,
step, budget — with `budget_exceeded` first — or `timeout`), `run_cancelled` (Stop/Ctrl-C, or an
approval rejected with `on_reject: stop`) or `run_interrupted` (waiting for an approval). Runs are
checkpointed in SQLite after every superstep; `Engine.resume(run_id)` continues a paused, cancelled,
failed or crashed run. After a crash the step that was in flight runs again (its model calls are
made and billed twice); finished steps never run again.

Heavy modules (langgraph, litellm) load on first use, so `orchestrator.events` stays cheap to import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApprovalDecision", "Engine", "Policy"]


def __getattr__(name: str) -> Any:
    if name in ("Engine", "ApprovalDecision"):
        from orchestrator import runner

        return getattr(runner, name)
    if name == "Policy":
        from orchestrator.policy import Policy

        return Policy
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
