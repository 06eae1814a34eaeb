"""The engine: a validated workflow compiled to a LangGraph graph, run with one typed event stream.

    from orchestrator import Engine, ApprovalDecision, Policy
    async for event in Engine(data_dir=path).run(workflow, {"topic": "tides"}):
        ...

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
