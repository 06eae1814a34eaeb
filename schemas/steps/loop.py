"""The `loop` step: repeat a body until a condition holds, at most `max_iterations` times."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from schemas.fields import Expression
from schemas.steps.base import (
    Checker,
    Children,
    Diagram,
    Estimator,
    Pair,
    Read,
    Tails,
    _StepBase,
    max_executions,
)

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope
    from schemas.steps import Step
    from schemas.value_types import VType


class LoopStep(_StepBase):
    """Repeats its steps until `until` holds or `max_iterations` is reached."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"steps": "the body", "until": "the stop condition", "max_iterations": "the most iterations"})
    diff_bounds = MappingProxyType({"max_iterations": "may run {b} times instead of {a}"})

    type: Literal["loop"]
    steps: list[Step] = Field(min_length=1, max_length=200, description="The body, run once per iteration.")
    until: Expression = Field(description="Checked after each iteration; the loop ends when it is true.")
    max_iterations: int = Field(ge=1, le=50, description="Mandatory upper bound on iterations.")

    leaf = False

    def children(self) -> list[Children]:
        return [Children(("steps",), self.steps)]

    def reads(self) -> list[Read]:
        return [Read(("until",), self.until, "expression")]

    def max_runs(self) -> int:
        return 1 + self.max_iterations * max_executions(self.steps)

    def output_agent(self) -> str | None:
        return self.steps[-1].output_agent()

    def output_shape(self, reader: Reader) -> VType:
        return reader.output_type(self.steps[-1].id)  # the last body step's, from the last iteration

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        from schemas.walk import iter_steps

        body = scope.enter_loop(self.id, frozenset(inner.id for inner, _ in iter_steps(self.steps)))
        ck.walk(self.steps, (*path, "steps"), body)
        ck.current = self.id  # what `until` reads names the body step that judges each round
        ck.expression(self.until, (*path, "until"), body)
        ck.loop_feedback(self.steps, self.id, path)
        scope.visible |= body.visible
        scope.hidden_by.update(body.hidden_by)

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        return est.repeat(est.steps(self.steps), "iterations", self.max_iterations)

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        head = d.node(f"{self.id}: loop up to {self.max_iterations}x", "stadium")
        d.connect(tails, head)
        for src, _ in d.steps(self.steps, [(head, None)]):
            d.edge(src, head, "again")
        return [(head, "done")]
