"""The `supervisor` step: a manager agent delegates to worker agents until it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from schemas.fields import Identifier, Template
from schemas.steps.base import Checker, Estimator, Pair, Read, _StepBase

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Scope


class SupervisorStep(_StepBase):
    """A manager agent delegates sub-tasks to worker agents until it has an answer."""

    type: Literal["supervisor"]
    manager: Identifier = Field(description="The agent that plans and delegates.")
    workers: list[Identifier] = Field(
        min_length=1, max_length=10, description="Agents the manager may delegate to."
    )
    task: Template = Field(description="The overall task given to the manager.")
    max_delegations: int = Field(
        5, ge=1, le=20, description="Upper bound on delegations before it must answer."
    )

    diagram_shape = "round"

    def reads(self) -> list[Read]:
        return [Read(("task",), self.task)]

    def agents_named(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("manager",), self.manager), *((("workers", i), w) for i, w in enumerate(self.workers))]

    def output_agent(self) -> str | None:
        return self.manager

    def max_runs(self) -> int:
        return 1 + self.max_delegations

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        for where, name in self.agents_named():
            ck.agent(name, (*path, *where))
        if self.manager in self.workers:
            ck.error((*path, "manager"), f"manager `{self.manager}` is also one of its workers")
        ck.template(self.task, (*path, "task"), scope)

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        """Each round the manager reads the task plus every answer so far; a worker answers."""

        def rounds(n: int) -> Any:
            calls = [est.agent(self.manager, self.task + "x" * (4 * est.answer_tokens * k))[0] for k in range(n + 1)]
            calls += [est.agent(self.workers[k % len(self.workers)], self.task)[0] for k in range(n)]
            return est.total(calls)

        return rounds(est.expected("delegations", self.max_delegations)), rounds(self.max_delegations)

    def diagram_label(self) -> str:
        return f"{self.id}: {self.manager} supervises {', '.join(self.workers)}"
