"""What a replay run re-computes and what it serves from the run it replays.

A replay re-runs a past run through the real engine with its config and inputs, except that every
step execution not chosen for replay returns the output it recorded (no model call, no tool call,
no cost), and a route that asked a model which case to take takes the case it took then. So only
the chosen steps differ, and the comparison isolates the change (a model, usually).

An execution is one run of a step: its loop rounds and its map item (`execution_key`). When a
replayed step's new output sends the run down a path the source run did not take (another route
case, one loop round more), the execution has no recorded output: that step fails with the reason
rather than calling a model nobody chose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import StepFailed


def execution_key(loops: Mapping[str, int] | None, item_index: int | None,
                  around: tuple[str, ...] | None = None) -> str:
    """Which execution of a step this is: the same text in the source run and in its replay.

    `around`: the loops the step sits in. The state keeps the count of a loop after it ended, so a
    step after a loop would otherwise carry that count and change key when the loop ran less.
    """
    rounds = {k: v for k, v in (loops or {}).items() if around is None or k in around}
    return json.dumps([rounds, item_index], sort_keys=True)


def enclosing_loops(steps: Sequence[Any], around: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """Each step id with the ids of the loops around it, outermost first."""
    out: dict[str, tuple[str, ...]] = {}
    for step in steps:
        out[step.id] = around
        inner = (*around, step.id) if step.type == "loop" else around
        for child in step.children():
            out.update(enclosing_loops(child.steps, inner))
    return out


@dataclass(frozen=True)
class ReplayPlan:
    source_run_id: str
    outputs: Mapping[tuple[str, str], Any]  # (step id, execution) -> recorded output
    branches: Mapping[tuple[str, str], str] = field(default_factory=dict)  # route -> case label taken
    rerun: frozenset[tuple[str, str]] = frozenset()  # the chosen executions (run again)
    rerun_all: frozenset[str] = frozenset()  # steps chosen in every execution (new ones included)

    def replays(self, step_id: str, execution: str) -> bool:
        return step_id in self.rerun_all or (step_id, execution) in self.rerun

    def recorded(self, step_id: str, execution: str) -> Any:
        """The source run's output of this execution; a step the source run never ran fails clearly."""
        try:
            return self.outputs[(step_id, execution)]
        except KeyError:
            raise StepFailed(_diverged(step_id, execution, self.source_run_id), step_id=step_id) from None

    def branch(self, route_id: str, execution: str) -> str:
        try:
            return self.branches[(route_id, execution)]
        except KeyError:
            raise StepFailed(_diverged(route_id, execution, self.source_run_id), step_id=route_id) from None


def plan_to_json(plan: ReplayPlan) -> str:
    """The plan as saved with the run, so a resumed replay still serves what it served."""
    return json.dumps({
        "source_run_id": plan.source_run_id,
        "outputs": [[sid, execution, out] for (sid, execution), out in plan.outputs.items()],
        "branches": [[sid, execution, label] for (sid, execution), label in plan.branches.items()],
        "rerun": sorted(plan.rerun), "rerun_all": sorted(plan.rerun_all),
    }, default=str)


def plan_from_json(text: str) -> ReplayPlan:
    data = json.loads(text)
    return ReplayPlan(
        source_run_id=data["source_run_id"],
        outputs={(sid, execution): out for sid, execution, out in data["outputs"]},
        branches={(sid, execution): label for sid, execution, label in data["branches"]},
        rerun=frozenset((sid, execution) for sid, execution in data["rerun"]),
        rerun_all=frozenset(data["rerun_all"]),
    )


def _diverged(step_id: str, execution: str, source: str) -> str:
    loops, item = json.loads(execution)
    where = ", ".join([*(f"round {n} of `{loop}`" for loop, n in loops.items()),
                       *([f"item {item}"] if item is not None else [])])
    return (f"step `{step_id}`{f' ({where})' if where else ''} did not run in the source run `{source}`, so it "
            "has no recorded output to serve: the replayed steps sent this run down another path. Replay "
            "that step too, or run the workflow anew")
