"""Walks the step tree: every step with its YAML path, in document order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from schemas.issues import Path
from schemas.models import Step, Workflow
from schemas.steps import min_executions

__all__ = ["all_steps", "iter_steps", "min_executions"]


def iter_steps(steps: Sequence[Step], path: Path = ("steps",)) -> Iterator[tuple[Step, Path]]:
    """Every step of the tree with its YAML path, depth first, in document order."""
    for index, step in enumerate(steps):
        here = (*path, index)
        yield step, here
        for child in step.children():
            if child.single:
                yield from _nested(child.steps[0], (*here, *child.path))
            else:
                yield from iter_steps(child.steps, (*here, *child.path))


def _nested(step: Step, here: Path) -> Iterator[tuple[Step, Path]]:
    """A step held directly by a field (not in a list), and its own children."""
    yield step, here
    for child in step.children():
        yield from iter_steps(child.steps, (*here, *child.path))


def all_steps(workflow: Workflow) -> list[Step]:
    """Every step of a workflow, nested ones included."""
    return [step for step, _ in iter_steps(workflow.steps)]
