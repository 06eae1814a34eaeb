"""Checks of `checks:` against the rest of the workflow: names, inputs, and what they read.

A case must give every required input and only declared ones, each of its type; an expectation's
`step` must exist, and its `field` must be a field that output declares (walked like a template's
`steps.<id>.output.<field>`, with the same did-you-mean hints).
"""

from __future__ import annotations

from schemas.checks import Check, Expectation
from schemas.issues import Issue
from schemas.locate import Locator
from schemas.models import Workflow
from schemas.semantic_refs import Reader, Scope
from schemas.semantic_resources import INPUT_TYPES
from schemas.suggest import did_you_mean
from schemas.value_types import ANY, VType
from schemas.walk import iter_steps


def check_issues(wf: Workflow, loc: Locator, reader: Reader) -> list[Issue]:
    """Every problem of the workflow's `checks`."""
    issues: list[Issue] = []
    seen: set[str] = set()
    everywhere = Scope(visible={step.id for step, _ in iter_steps(wf.steps)})
    for index, check in enumerate(wf.checks):
        where = ("checks", index)
        if check.name in seen:
            issues.append(loc.issue((*where, "name"), f"two checks are named `{check.name}`", "give each a unique name"))
        seen.add(check.name)
        issues += _input_issues(wf, loc, check, where)
        for number, expectation in enumerate(check.expect):
            issues += _target_issues(wf, loc, reader, everywhere, expectation, (*where, "expect", number))
    return issues


def _input_issues(wf: Workflow, loc: Locator, check: Check, where: tuple) -> list[Issue]:
    issues: list[Issue] = []
    for name, value in check.inputs.items():
        spec = wf.inputs.get(name)
        if spec is None:
            fix = did_you_mean(name, wf.inputs) or "declare it under `inputs`, or remove it from the check"
            issues.append(loc.issue((*where, "inputs", name), f"check `{check.name}` gives input `{name}`, which the "
                                    "workflow does not declare", fix, at="key"))
            continue
        wrong_bool = isinstance(value, bool) and spec.type in ("integer", "number")
        if not isinstance(value, INPUT_TYPES[spec.type]) or wrong_bool:
            issues.append(loc.issue((*where, "inputs", name), f"input `{name}` is {_article(spec.type)} {spec.type}, but check "
                                    f"`{check.name}` gives {type(value).__name__} `{value!r}`"[:300]))
    missing = [n for n, spec in wf.inputs.items() if spec.default is None and n not in check.inputs]
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        issues.append(loc.issue((*where, "name"), f"check `{check.name}` does not give the required input(s) {names}",
                                "add them under the check's `inputs`, or give those inputs a `default`"))
    return issues


def _target_issues(wf: Workflow, loc: Locator, reader: Reader, scope: Scope, e: Expectation,
                   where: tuple) -> list[Issue]:
    if e.step is not None and e.step not in scope.visible:
        fix = did_you_mean(e.step, scope.visible) or "name a step id from `steps`"
        return [loc.issue((*where, "step"), f"unknown step `{e.step}`", fix)]
    parts = tuple(e.field.split(".")) if e.field else ()
    if e.step is not None:
        vtype, problem = reader.resolve(("steps", e.step, "output", *parts), scope)
    else:
        vtype, problem = _final_output(wf, reader, parts)
    if problem is not None:
        return [loc.issue((*where, "field"), problem[0], problem[1])]
    if e.kind == "bounds" and vtype.known and vtype.kind not in ("integer", "number"):
        return [loc.issue((*where, "min" if e.min is not None else "max"),
                          f"`min`/`max` compare numbers, but this reads {vtype.describe()}",
                          "name a numeric `field`")]
    return []


def _final_output(wf: Workflow, reader: Reader, parts: tuple[str, ...]) -> tuple[VType, tuple[str, str | None] | None]:
    """The type of the run's final output (the last step's, unless an `end` step may finish it)."""
    if any(step.type == "end" for step, _ in iter_steps(wf.steps)):
        return ANY, None
    last = wf.steps[-1].id
    vtype, problem = reader.resolve(("steps", last, "output", *parts), Scope(visible={last}))
    if problem is not None:
        return vtype, (f"{problem[0]} (the final output is step `{last}`'s)", problem[1])
    return vtype, None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
