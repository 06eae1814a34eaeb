"""The `parallel` step: fixed branches run at the same time."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from schemas.steps.base import Checker, Children, Diagram, Tails, _StepBase

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope
    from schemas.steps import Step
    from schemas.value_types import VType


class ParallelStep(_StepBase):
    """Runs a fixed set of branches at the same time; the next step waits for all of them."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"branches": "the branches"})

    type: Literal["parallel"]
    branches: list[Step] = Field(min_length=2, max_length=32, description="Steps that run concurrently.")

    leaf = False

    def children(self) -> list[Children]:
        return [Children(("branches",), self.branches)]

    def output_shape(self, reader: Reader) -> VType:
        from schemas.value_types import ANY, VType

        return VType("object", fields=dict.fromkeys((b.id for b in self.branches), ANY))  # one per branch

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        seen: list[Scope] = []
        for index, branch in enumerate(self.branches):
            inner = scope.branch(concurrent=True)  # branches do not see each other
            ck.step(branch, (*path, "branches", index), inner)
            seen.append(inner)
        for inner in seen:
            scope.visible |= inner.visible
            scope.hidden_by.update(inner.hidden_by)

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        fork = d.node(f"{self.id}: parallel", "circle")
        d.connect(tails, fork)
        out: Tails = []
        for branch in self.branches:
            out.extend(d.step(branch, [(fork, None)]))
        return out
