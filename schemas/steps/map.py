"""The `map` step: run a body of steps once per item of a list, the items concurrently."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from schemas.fields import Identifier, Template
from schemas.steps.base import (
    Checker,
    Children,
    Diagram,
    Estimator,
    Pair,
    Tails,
    _StepBase,
    max_executions,
)
from schemas.value_types import ANY, VType, list_of

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope
    from schemas.steps import Step

# Kinds that make no sense once per item: a person asked the same thing N times at once. (An `end`
# step refuses itself wherever other work runs at the same time.)
_NOT_IN_BODY = MappingProxyType({
    "approval": "a map runs its items at once, so it cannot stop for a person's approval per item",
    "ask": "a map runs its items at once, so it cannot ask a person a question per item",
})


class MapStep(_StepBase):
    """Runs its steps once for each item of a list produced earlier, the items concurrently."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"over": "the list it maps over", "as_": "the item name", "steps": "the body", "output": "the body step whose output is kept", "max_items": "the most items"})
    diff_bounds = MappingProxyType({"max_items": "handles up to {b} items instead of {a}"})

    type: Literal["map"]
    over: Template = Field(description="A template giving a list, e.g. `{{ steps.plan.output.topics }}`.")
    as_: Identifier = Field("item", alias="as", description="Name of each item inside the body's templates.")
    steps: list[Step] = Field(
        min_length=1,
        max_length=50,
        description="The body, run once per item: each step may read `{{ item }}` (or the `as` name) and "
        "the outputs of the body steps before it for the same item. Steps outside the map read only the "
        "map's own output.",
    )
    output: Identifier | None = Field(
        None,
        description="The body step whose output each item contributes to the map's output list "
        "(default: the body's last step).",
    )
    max_items: int = Field(20, ge=1, le=100, description="Items beyond this many are not processed.")

    leaf = False

    def children(self) -> list[Children]:
        return [Children(("steps",), self.steps)]

    def result_step(self) -> str:
        """The body step whose output each item contributes."""
        return self.output or self.steps[-1].id

    def min_runs(self) -> int:
        return 1  # a map may get no items

    def max_runs(self) -> int:
        return 1 + self.max_items * max_executions(self.steps)

    def output_shape(self, reader: Reader) -> VType:
        return list_of(reader.output_type(self.result_step()))

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        from schemas.walk import iter_steps

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
        body_ids = [inner.id for inner, _ in iter_steps(self.steps)]
        for inner, where in iter_steps(self.steps, (*path, "steps")):
            why = _NOT_IN_BODY.get(getattr(inner, "type", ""))
            if why is not None:
                ck.error(where, f"`{inner.type}` step `{inner.id}` cannot be inside map `{self.id}`: {why}",
                         f"put `{inner.id}` before or after map `{self.id}`")
        if self.output is not None and self.output not in [s.id for s in self.steps]:
            from schemas.suggest import did_you_mean

            ck.error((*path, "output"), f"`output: {self.output}` is not a step of map `{self.id}`'s body",
                     did_you_mean(self.output, [s.id for s in self.steps])
                     or "name one of the body's steps, or remove `output` to use the last one")
        body = scope.branch(concurrent=True)
        body.item, body.item_type = self.as_, item_type or ANY
        ck.walk(self.steps, (*path, "steps"), body)
        # Outside, each body step ran once per item: only the map's own output is one value.
        scope.mapped.update(dict.fromkeys(body_ids, self.id))

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        return est.repeat(est.steps(self.steps), "items", self.max_items)

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        head = d.node(f"{self.id}: map over items (up to {self.max_items})", "stadium")
        d.connect(tails, head)
        body = d.steps(self.steps, [(head, "each item")])
        gather = d.node(f"{self.id}: gather the items' results", "stadium")
        d.connect(body, gather)
        return [(gather, None)]

