"""Walks the step tree: every step with its YAML path, in document order."""

from __future__ import annotations

from collections.abc import Iterator

from schemas.issues import Path
from schemas.models import LoopStep, MapStep, ParallelStep, RouteStep, Step, Workflow


def iter_steps(steps: list[Step], path: Path = ("steps",)) -> Iterator[tuple[Step, Path]]:
    """Every step of the tree with its YAML path, depth first, in document order."""
    for index, step in enumerate(steps):
        here = (*path, index)
        yield step, here
        match step:
            case ParallelStep(branches=branches):
                yield from iter_steps(branches, (*here, "branches"))
            case MapStep(step=inner):
                yield inner, (*here, "step")
            case RouteStep(cases=cases, default=default):
                for ci, case in enumerate(cases):
                    yield from iter_steps(case.steps, (*here, "cases", ci, "steps"))
                yield from iter_steps(default, (*here, "default"))
            case LoopStep(steps=body):
                yield from iter_steps(body, (*here, "steps"))


def all_steps(workflow: Workflow) -> list[Step]:
    """Every step of a workflow, nested ones included."""
    return [step for step, _ in iter_steps(workflow.steps)]


def min_executions(steps: list[Step]) -> int:
    """The fewest step executions a run of `steps` counts against `limits.max_steps`.

    Every step counts once when it starts (composites too); a loop runs its body at least once,
    a route takes its cheapest branch, a map may get no items.
    """
    total = 0
    for step in steps:
        total += 1
        match step:
            case ParallelStep(branches=branches):
                total += sum(min_executions([branch]) for branch in branches)
            case LoopStep(steps=body):
                total += min_executions(body)
            case RouteStep(cases=cases, default=default):
                total += min(min_executions(branch) for branch in [default, *(c.steps for c in cases)])
    return total
