"""Checks that need the whole workflow: references, upstream visibility, routes and loops.

Runs on a structurally valid `Workflow`. Visibility follows execution: a step sees the steps
before it; branches of a parallel step do not see each other; steps inside a route branch are not
visible after the route (the route's own output is); loop and parallel inner steps are visible
after them; `{{ item }}` (or the map's `as` name) exists only in a map step's prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from schemas.errors import ExpressionError, TemplateSyntaxError
from schemas.expressions import expression_references, parse_expression
from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import Step, Workflow
from schemas.semantic_refs import Reader, Scope
from schemas.semantic_resources import resource_issues
from schemas.suggest import did_you_mean
from schemas.templates import Reference, find_references
from schemas.walk import iter_steps


def semantic_issues(
    workflow: Workflow, locator: Locator, *, sandbox_available: bool | None = None
) -> list[Issue]:
    """Every semantic error and warning of `workflow`."""
    return _Checker(workflow, locator, sandbox_available).run()


class _Checker:
    def __init__(self, workflow: Workflow, locator: Locator, sandbox_available: bool | None) -> None:
        self.wf = workflow
        self.loc = locator
        self.sandbox_available = sandbox_available
        self.issues: list[Issue] = []
        self.by_id: dict[str, Step] = {}
        for step, path in iter_steps(workflow.steps):
            if step.id in self.by_id:
                self.issues.append(
                    locator.issue((*path, "id"), f"duplicate step id `{step.id}`", "step ids must be unique")
                )
            else:
                self.by_id[step.id] = step
        self.reader = Reader(workflow, locator, self.by_id)
        self.agents_used: set[str] = set()

    def run(self) -> list[Issue]:
        self.walk(self.wf.steps, ("steps",), Scope())
        self.issues += self.reader.issues
        self.issues += resource_issues(
            self.wf, self.loc, self.agents_used, self.reader.inputs_read, self.sandbox_available
        )
        return self.issues

    # ---- the tree walk ----------------------------------------------------------------------

    def walk(self, steps: Sequence[Step], path: Path, scope: Scope) -> None:
        """Check `steps` in order; `scope` grows with each step that ran."""
        for index, step in enumerate(steps):
            self.step(step, (*path, index), scope)
            if step.ends_run and index + 1 < len(steps):
                self.error(
                    (*path, index + 1),
                    f"this step never runs: `{step.id}` ends the run just before it",
                    f"remove the steps after `{step.id}`, or put `{step.id}` in a route case",
                )

    def step(self, step: Step, path: Path, scope: Scope) -> None:
        for name, message, fix in step.guard_problems():
            self.error((*path, name), message, fix)
        step.check(self, path, scope)  # each kind checks its own fields and children
        scope.visible.add(step.id)

    # ---- leaves -----------------------------------------------------------------------------

    def agent(self, name: str, where: Path) -> None:
        self.agents_used.add(name)
        if name not in self.wf.agents:
            self.error(
                where,
                f"unknown agent `{name}`",
                did_you_mean(name, self.wf.agents) or "declare it under `agents`",
            )

    def template(self, text: str, where: Path, scope: Scope) -> list[Reference] | None:
        try:
            refs = find_references(text)
        except TemplateSyntaxError as exc:
            self.error(where, str(exc))
            return None
        counts: dict[str, int] = {}
        for ref in refs:
            snippet = text[ref.start : ref.end]
            self.reader.check(ref.path, scope, where, (snippet, counts.get(snippet, 0)))
            counts[snippet] = counts.get(snippet, 0) + 1
        return refs

    def expression(self, text: str, where: Path, scope: Scope) -> None:
        try:
            refs = expression_references(parse_expression(text))
        except ExpressionError as exc:
            self.issues.append(self._at_column(where, f"invalid expression: {exc.reason}", exc.column))
            return
        counts: dict[str, int] = {}
        for ref in refs:
            dotted = ".".join(ref)
            self.reader.check(ref, scope, where, (dotted, counts.get(dotted, 0)))
            counts[dotted] = counts.get(dotted, 0) + 1

    def _at_column(self, where: Path, message: str, column: int | None) -> Issue:
        issue = self.loc.issue(where, message)
        position = self.loc.doc.values.get(tuple(where))
        if column is None or position is None or position.style not in (None, "'", '"'):
            return issue
        shift = 1 if position.style else 0
        return Issue(issue.file, issue.line, issue.column + shift + column - 1, issue.path, message)

    def error(
        self,
        where: Path,
        message: str,
        fix: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.issues.append(self.loc.issue(where, message, fix, severity=severity))
