"""The `map` step: one agent step per item of a list, concurrently."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from schemas.fields import Identifier, Template
from schemas.steps.agent import AgentStep
from schemas.steps.base import Checker, Children, Estimator, Pair, _StepBase
from schemas.value_types import ANY, VType, list_of

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope


class MapStep(_StepBase):
    """Runs one agent step for each item of a list produced earlier, concurrently."""

    type: Literal["map"]
    over: Template = Field(description="A template giving a list, e.g. `{{ steps.plan.output.topics }}`.")
    as_: Identifier = Field("item", alias="as", description="Name of each item inside the step's prompt.")
    step: AgentStep = Field(description="The step run for every item; its prompt may use `{{ item }}`.")
    max_items: int = Field(20, ge=1, le=100, description="Items beyond this many are not processed.")

    leaf = False
    diagram_shape = "stadium"

    def children(self) -> list[Children]:
        return [Children(("step",), [self.step], single=True)]

    def min_runs(self) -> int:
        return 1  # a map may get no items

    def max_runs(self) -> int:
        return 1 + self.max_items

    def output_shape(self, reader: Reader) -> VType:
        return list_of(reader.agent_type(self.step.agent))

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        refs = ck.template(self.over, (*path, "over"), scope)
        text = self.over.strip()
        if refs is not None and (len(refs) != 1 or text[: refs[0].start] or text[refs[0].end :]):
            ck.error(
                (*path, "over"),
                "`over` must be exactly one reference to a list",
                "write e.g. `{{ steps.plan.output.topics }}`",
            )
        item_type = ck.types[-1].items if refs and ck.types and ck.types[-1].kind == "list" else None
        if refs and len(refs) == 1 and ck.types:
            kind = ck.types[-1]
            if kind.known and kind.kind not in ("list", "null"):
                shown = refs[0].expr.text if refs[0].expr is not None else refs[0].dotted
                ck.error((*path, "over"), f"`{shown}` is {kind.describe()}, not a list")
        ck.current = self.step.id
        ck.agent(self.step.agent, (*path, "step", "agent"))
        ck.template(self.step.prompt, (*path, "step", "prompt"), scope.with_item(self.as_, item_type or ANY))

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        return est.repeat(est.agent(self.step.agent, self.step.prompt, self.step.settings()), "items", self.max_items)

    def diagram_label(self) -> str:
        return f"{self.id}: map {self.step.agent} over items"
