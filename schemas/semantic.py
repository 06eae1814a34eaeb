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
from schemas.expr_types import TypeChecker
from schemas.expressions import Expr, parse_expression
from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import Step, Workflow
from schemas.semantic_checks import check_issues
from schemas.semantic_refs import Reader, Scope
from schemas.semantic_resources import resource_issues
from schemas.suggest import did_you_mean
from schemas.templates import Reference, find_references
from schemas.value_types import VType
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
        self.current = ""  # the step whose templates are being checked
        self.types: list[VType] = []  # the type of each block of the last template checked
        self.reads: dict[str, list[tuple[str, ...]]] = {}  # step id -> every path its templates read

    def run(self) -> list[Issue]:
        self.walk(self.wf.steps, ("steps",), Scope())
        self.issues += self.reader.issues
        self.issues += check_issues(self.wf, self.loc, self.reader)
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
        self.current = step.id
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
        """Check every block of `text`; `self.types` gets each block's type, in order."""
        self.types = []
        try:
            refs = find_references(text)
        except TemplateSyntaxError as exc:
            self.error(where, str(exc))
            return None
        counts: dict[str, int] = {}
        for ref in refs:
            if ref.expr is not None:
                self.types.append(self._typed(ref.expr, where, scope, counts))
                continue
            snippet = text[ref.start : ref.end]
            self.reads.setdefault(self.current, []).append(ref.path)
            self.types.append(self.reader.check(ref.path, scope, where, (snippet, counts.get(snippet, 0))))
            counts[snippet] = counts.get(snippet, 0) + 1
        return refs

    def expression(self, text: str, where: Path, scope: Scope) -> None:
        try:
            expr = parse_expression(text)
        except ExpressionError as exc:
            self.issues.append(self._at_column(where, f"invalid expression: {exc.reason}", exc.column))
            return
        self._typed(expr, where, scope, {})

    def _typed(self, expr: Expr, where: Path, scope: Scope, counts: dict[str, int]) -> VType:
        """Check what `expr` reads and the types it combines; its type (ANY when unknown)."""

        def resolve(ref: tuple[str, ...]) -> VType:
            dotted = ".".join(ref)
            self.reads.setdefault(self.current, []).append(ref)
            vtype = self.reader.check(ref, scope, where, (dotted, counts.get(dotted, 0)))
            counts[dotted] = counts.get(dotted, 0) + 1
            return vtype

        checker = TypeChecker(expr, resolve)
        vtype = checker.run()
        for problem in checker.problems:
            issue = self._at_column(where, problem.message, problem.column)
            self.issues.append(Issue(issue.file, issue.line, issue.column, issue.path, issue.message, problem.fix))
        return vtype

    def loop_feedback(self, body_steps: Sequence[Step], loop_id: str, path: Path) -> None:
        """Warn when a body step repeats without reading the previous round that a later step judged.

        The judge is a body step that `until` reads; a producer is an earlier body step the judge
        reads. If the producer never reads `loop.previous` or `loop.history`, every round starts
        from scratch and the judge's feedback is lost.
        """
        body = [s.id for s in body_steps]
        judged = {r[1] for r in self.reads.get(loop_id, []) if r[0] == "steps" and len(r) > 1}
        for j, judge in enumerate(body):
            if judge not in judged:
                continue
            reads = {r[1] for r in self.reads.get(judge, []) if r[0] == "steps" and len(r) > 1}
            for i, producer in enumerate(body[:j]):
                own = self.reads.get(producer, [])
                if producer not in reads or any(r[:2] in (("loop", "previous"), ("loop", "history")) for r in own):
                    continue
                feedback = self._feedback_path(judge)
                self.error(
                    (*path, "steps", i, "id"),
                    f"step `{producer}` runs again in every round of loop `{loop_id}` but never reads the "
                    f"previous round, so it never sees what `{judge}` said about it",
                    f"add `{{{{ {feedback} }}}}` to its prompt (empty in the first round)",
                    severity="warning",
                )

    def _feedback_path(self, judge: str) -> str:
        vtype = self.reader.output_type(judge)
        fields = vtype.fields or {}
        name = next((n for n, t in fields.items() if t.kind == "string"), None)
        return f"loop.previous.{judge}.output" + (f".{name}" if name else "")

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
