"""The `route` step: one branch chosen by a value, a model, or expressions."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from schemas.errors import TemplateSyntaxError
from schemas.fields import ModelName, Template, _Strict
from schemas.steps.base import (
    Checker,
    Children,
    Diagram,
    Estimator,
    Pair,
    Tails,
    _StepBase,
    max_executions,
    min_executions,
)
from schemas.suggest import did_you_mean
from schemas.templates import find_references

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope
    from schemas.steps import Step


class Classifier(_Strict):
    """An LLM picks one of the route's `when` labels."""

    diff_words: ClassVar[Mapping[str, str]] = MappingProxyType({"prompt": "the classifier prompt",
                                                               "model": "the classifier model"})
    diff_unset_model: ClassVar[Mapping[str, str]] = MappingProxyType({"model": "the workflow's default model"})

    prompt: Template = Field(description="What to classify; the labels are added for the model.")
    model: ModelName | None = Field(None, description="Defaults to the workflow's default model.")


class RouteCase(_Strict):
    diff_words: ClassVar[Mapping[str, str]] = MappingProxyType({"when": "the condition", "steps": "the steps"})

    when: str = Field(
        min_length=1,
        max_length=500,
        description="With `on`: the value to match. With `classify`: a label. Otherwise: an expression.",
    )
    steps: list[Step] = Field(
        max_length=200,
        description="Steps run when this case is taken; `[]` does nothing and carries on after the route.",
    )


class RouteStep(_StepBase):
    """Chooses one branch: by a value (`on`), by an LLM (`classify`), or by expressions; else `default`."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"on": "the value it routes on", "classify": "the classifier", "cases": "the cases", "default": "the default branch"})

    type: Literal["route"]
    on: Template | None = Field(None, description="A template whose value is matched against each `when`.")
    classify: Classifier | None = Field(None, description="Let a model choose among the `when` labels.")
    cases: list[RouteCase] = Field(
        min_length=1, max_length=20, description="Checked in order; the first match runs."
    )
    default: list[Step] = Field(
        description="Steps run when no case matches; `[]` means carry on with the next step."
    )

    leaf = False
    diagram_shape = "diamond"

    def children(self) -> list[Children]:
        cases = [Children(("cases", i, "steps"), c.steps) for i, c in enumerate(self.cases)]
        return [*cases, Children(("default",), self.default)]

    def models_named(self) -> list[tuple[tuple[str | int, ...], str | None]]:
        return [(("classify", "model"), self.classify.model)] if self.classify is not None else []

    def min_runs(self) -> int:
        return 1 + min(min_executions(c.steps) for c in self.children())  # the cheapest branch

    def max_runs(self) -> int:
        return 1 + max(max_executions(c.steps) for c in self.children())

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        by_label = self.on is not None or self.classify is not None
        if self.on is not None and self.classify is not None:
            ck.error((*path, "classify"), "a route uses `on` or `classify`, not both", "remove one of them")
        if self.on is not None:
            ck.template(self.on, (*path, "on"), scope)
        if self.classify is not None:
            ck.template(self.classify.prompt, (*path, "classify", "prompt"), scope)
        allowed = _enum_of(self.on, ck.reader, scope) if self.on is not None else None
        seen: set[str] = set()
        for index, case in enumerate(self.cases):
            where = (*path, "cases", index, "when")
            if by_label:  # the engine compares labels trimmed and case-insensitively
                label = case.when.strip().casefold()
                if label in seen:
                    ck.error(where, f"`when: {case.when}` repeats an earlier case, so it can never run")
                elif allowed is not None and label not in {a.casefold() for a in allowed}:
                    ck.error(
                        where,
                        f"`{case.when}` is not one of the values `on` can take, so this case can never run",
                        did_you_mean(case.when, allowed),
                    )
                seen.add(label)
            else:
                ck.expression(case.when, where, scope)
        hidden: dict[str, str] = {}
        for child in self.children():
            inner = scope.branch()
            ck.walk(child.steps, (*path, *child.path), inner)
            for step_id in [
                *(inner.visible - scope.visible),
                *(inner.hidden_by.keys() - scope.hidden_by.keys()),
            ]:
                hidden[step_id] = self.id  # branch steps are not visible after the route
        scope.hidden_by.update(hidden)

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        branches = [est.steps(c.steps) for c in self.children()]
        chosen = est.one_of(branches)
        if self.classify is None:
            return chosen
        call = est.model_call(self.classify.model, self.classify.prompt, 10 * len(self.cases), 5)
        return est.total([call[0], chosen[0]]), est.total([call[1], chosen[1]])

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        nid = d.node(f"{self.id}: route", "diamond")
        d.connect(tails, nid)
        out: Tails = []
        for case in self.cases:
            out.extend(d.steps(case.steps, [(nid, case.when)]))
        out.extend(d.steps(self.default, [(nid, "default")]) if self.default else [(nid, "default")])
        return out


def _enum_of(on: str, reader: Reader, scope: Scope) -> list[str] | None:
    """The values `on` can take, when it reads one declared boolean or enum field (nested too)."""
    try:
        refs = find_references(on)
    except TemplateSyntaxError:
        return None
    if len(refs) != 1 or refs[0].expr is not None:
        return None
    vtype, problem = reader.resolve(refs[0].path, scope)
    if problem is not None:
        return None
    if vtype.kind == "boolean":
        return ["true", "false"]
    return list(vtype.enum) if vtype.enum else None
