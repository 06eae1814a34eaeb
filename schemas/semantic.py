"""Checks that need the whole workflow: references, upstream visibility, routes and loops.

Runs on a structurally valid `Workflow`. Visibility follows execution: a step sees the steps
before it; branches of a parallel step do not see each other; steps inside a route branch are not
visible after the route (the route's own output is); loop and parallel inner steps are visible
after them; `{{ item }}` (or the map's `as` name) exists only in a map step's prompt.
"""

from __future__ import annotations

from typing import Literal

from schemas.errors import ExpressionError, TemplateSyntaxError
from schemas.expressions import expression_references, parse_expression
from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import (
    AgentStep,
    ApprovalStep,
    LoopStep,
    MapStep,
    ParallelStep,
    RouteStep,
    Step,
    SupervisorStep,
    Workflow,
)
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
        self._walk(self.wf.steps, ("steps",), Scope())
        self.issues += self.reader.issues
        self.issues += resource_issues(
            self.wf, self.loc, self.agents_used, self.reader.inputs_read, self.sandbox_available
        )
        return self.issues

    # ---- the tree walk ----------------------------------------------------------------------

    def _walk(self, steps: list[Step], path: Path, scope: Scope) -> None:
        """Check `steps` in order; `scope` grows with each step that ran."""
        for index, step in enumerate(steps):
            self._step(step, (*path, index), scope)

    def _step(self, step: Step, path: Path, scope: Scope) -> None:
        match step:
            case AgentStep():
                self._agent(step.agent, (*path, "agent"))
                self._template(step.prompt, (*path, "prompt"), scope)
            case ParallelStep(branches=branches):
                seen: list[Scope] = []
                for index, branch in enumerate(branches):
                    inner = scope.branch()  # branches do not see each other
                    self._step(branch, (*path, "branches", index), inner)
                    seen.append(inner)
                for inner in seen:
                    scope.visible |= inner.visible
                    scope.hidden_by.update(inner.hidden_by)
            case MapStep():
                self._map(step, path, scope)
            case RouteStep():
                self._route(step, path, scope)
            case LoopStep():
                body = scope.branch(in_loop=True)
                self._walk(step.steps, (*path, "steps"), body)
                self._expression(step.until, (*path, "until"), body)
                scope.visible |= body.visible
                scope.hidden_by.update(body.hidden_by)
            case ApprovalStep():
                self._template(step.message, (*path, "message"), scope)
            case SupervisorStep():
                self._agent(step.manager, (*path, "manager"))
                for index, worker in enumerate(step.workers):
                    self._agent(worker, (*path, "workers", index))
                if step.manager in step.workers:
                    self._error((*path, "manager"), f"manager `{step.manager}` is also one of its workers")
                self._template(step.task, (*path, "task"), scope)
        scope.visible.add(step.id)

    def _map(self, step: MapStep, path: Path, scope: Scope) -> None:
        refs = self._template(step.over, (*path, "over"), scope)
        text = step.over.strip()
        if refs is not None and (len(refs) != 1 or text[: refs[0].start] or text[refs[0].end :]):
            self._error(
                (*path, "over"),
                "`over` must be exactly one reference to a list",
                "write e.g. `{{ steps.plan.output.topics }}`",
            )
        elif refs:
            kind = self.reader.value_type(refs[0].path)
            if kind is not None and kind != "list":
                self._error((*path, "over"), f"`{refs[0].dotted}` is a {kind}, not a list")
        inner = step.step
        self._agent(inner.agent, (*path, "step", "agent"))
        self._template(inner.prompt, (*path, "step", "prompt"), scope.with_item(step.as_))

    def _route(self, step: RouteStep, path: Path, scope: Scope) -> None:
        by_label = step.on is not None or step.classify is not None
        if step.on is not None and step.classify is not None:
            self._error(
                (*path, "classify"), "a route uses `on` or `classify`, not both", "remove one of them"
            )
        if step.on is not None:
            self._template(step.on, (*path, "on"), scope)
        if step.classify is not None:
            self._template(step.classify.prompt, (*path, "classify", "prompt"), scope)
        allowed = self._enum_of(step.on) if step.on is not None else None
        seen: set[str] = set()
        for index, case in enumerate(step.cases):
            where = (*path, "cases", index, "when")
            if by_label:  # the engine compares labels trimmed and case-insensitively
                label = case.when.strip().casefold()
                if label in seen:
                    self._error(where, f"`when: {case.when}` repeats an earlier case, so it can never run")
                elif allowed is not None and label not in {a.casefold() for a in allowed}:
                    self._error(
                        where,
                        f"`{case.when}` is not one of the values `on` can take, so this case can never run",
                        did_you_mean(case.when, allowed),
                    )
                seen.add(label)
            else:
                self._expression(case.when, where, scope)
        branches = [(c.steps, (*path, "cases", i, "steps")) for i, c in enumerate(step.cases)]
        hidden: dict[str, str] = {}
        for steps, where in [*branches, (step.default, (*path, "default"))]:
            inner = scope.branch()
            self._walk(steps, where, inner)
            for step_id in [
                *(inner.visible - scope.visible),
                *(inner.hidden_by.keys() - scope.hidden_by.keys()),
            ]:
                hidden[step_id] = step.id  # branch steps are not visible after the route
        scope.hidden_by.update(hidden)

    def _enum_of(self, on: str) -> list[str] | None:
        try:
            refs = find_references(on)
        except TemplateSyntaxError:
            return None
        if len(refs) != 1 or refs[0].path[0] != "steps" or len(refs[0].path) != 4:
            return None
        spec = self.reader.field_spec(refs[0].path[1], refs[0].path[3])
        if spec is None:
            return None
        if spec.type == "boolean":
            return ["true", "false"]
        return list(spec.enum) if spec.enum else None

    # ---- leaves -----------------------------------------------------------------------------

    def _agent(self, name: str, where: Path) -> None:
        self.agents_used.add(name)
        if name not in self.wf.agents:
            self._error(
                where,
                f"unknown agent `{name}`",
                did_you_mean(name, self.wf.agents) or "declare it under `agents`",
            )

    def _template(self, text: str, where: Path, scope: Scope) -> list[Reference] | None:
        try:
            refs = find_references(text)
        except TemplateSyntaxError as exc:
            self._error(where, str(exc))
            return None
        counts: dict[str, int] = {}
        for ref in refs:
            snippet = text[ref.start : ref.end]
            self.reader.check(ref.path, scope, where, (snippet, counts.get(snippet, 0)))
            counts[snippet] = counts.get(snippet, 0) + 1
        return refs

    def _expression(self, text: str, where: Path, scope: Scope) -> None:
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

    def _error(
        self,
        where: Path,
        message: str,
        fix: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.issues.append(self.loc.issue(where, message, fix, severity=severity))
