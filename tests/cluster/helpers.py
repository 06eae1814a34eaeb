"""Runs and query answers shared by the cluster history tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pandas as pd

from history import queries as q
from history.queries import Filters
from orchestrator import events as ev
from tests.history.helpers import DAY, T0, Call, Step, run_events

GPT, CLAUDE = "openai/gpt-4o-mini", "anthropic/claude-haiku"
APPROVAL_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "human_approval.yaml"


def collect(stream: Any) -> list[Any]:
    """Every event of an engine stream."""

    async def drain() -> list[Any]:
        return [e async for e in stream]

    return asyncio.run(drain())


def sample_runs() -> list[list[ev.Event]]:
    """Finished, failed, cancelled and resumed runs of two owners over two days, and an artifact."""
    resumed = run_events("r4", end="none", start=T0 + 2 * DAY, steps=[Step("plan", 1.0, [Call(GPT, 0.3, 1.0)])])
    resumed.append(ev.RunInterrupted(run_id="r4", seq=len(resumed), ts=T0 + 2 * DAY + 5, reason="process_died"))
    again = run_events("r4", start=T0 + 2 * DAY + 60, steps=[Step("plan", 1.0, [Call(GPT, 0.3, 1.0)])])
    for event in again:
        event.seq += 1000
    again[0] = again[0].model_copy(update={"accounted": []})  # the checkpoint held nothing: `plan` ran again
    artifact = ev.ArtifactWritten(run_id="r1", seq=50, ts=T0 + 1, step_id="write", name="report", format="md",
                                  bytes=12, sha256="ab" * 32)
    return [
        run_events("r1", duration=5.0, steps=[Step("plan", 2.0, [Call(GPT, 0.10, 1.0, ttft=0.2)]),
                                              Step("write", 3.0, [Call(CLAUDE, 0.20, 2.0, ttft=0.4)])]) + [artifact],
        run_events("r2", start=T0 + DAY, end="failed", reason="timeout",
                   steps=[Step("plan", 1.0, [Call(GPT, 0.05, 0.5, error="timed out")])]),
        run_events("r3", workflow="summarise", start=T0 + DAY, end="cancelled", steps=[Step("plan", 0.5, [])]),
        resumed, again,
        run_events("b1", owner="bob", steps=[Step("plan", 9.0, [Call(CLAUDE, 1.0, 9.0)])]),
    ]


def answers(cur: object) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for owner in ("alice", "bob", None):
        for name, query in q.DASHBOARDS.items():
            out[f"{name}/{owner}"] = query(cur, Filters(owner=owner))
        out[f"list_runs/{owner}"] = q.list_runs(cur, Filters(owner=owner))
        out[f"resumable/{owner}"] = q.resumable_runs(cur, owner)
        for run_id in ("r1", "r4", "b1"):
            out[f"events/{run_id}/{owner}"] = q.run_events(cur, run_id, owner)
            out[f"calls/{run_id}/{owner}"] = q.run_calls(cur, run_id, owner).drop(columns="id")
            out[f"steps/{run_id}/{owner}"] = q.run_steps(cur, run_id, owner)
            out[f"artifacts/{run_id}/{owner}"] = q.run_artifacts(cur, run_id, owner)
    return out
