"""The `supervisor` step: a manager agent delegates to worker agents and teams until it answers.

A worker is an agent (answers one sub-task) or a team: a named list of steps of any kind, run as a
sub-flow with the sub-task as `{{ task }}`; its last step's output is the answer. Teams may hold
supervisors with teams of their own, up to `MAX_TEAM_DEPTH` levels. With `conversation: shared`
every worker also reads the conversation so far (task, delegations, answers), capped in size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from schemas.fields import Identifier, Template, _Strict
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
from schemas.value_types import STRING

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Scope
    from schemas.steps import Step

MAX_TEAM_DEPTH = 3  # a team inside a team inside a team, and no deeper
# Kinds a team cannot hold, with the fix: a delegation runs inside the supervisor's one step, so it
# can neither pause for a person nor end the whole run.
NOT_IN_TEAMS: Mapping[str, str] = MappingProxyType({
    "approval": "ask the person before or after the supervisor step instead",
    "ask": "ask the person before or after the supervisor step instead",
    "end": "a team's last step's output is its answer; put the `end` step after the supervisor",
})


class Team(_Strict):
    """A worker that is a sub-flow: its steps run in order for each sub-task delegated to it."""

    diff_words: ClassVar[Mapping[str, str]] = MappingProxyType({"name": "the name", "description": "the description",
                                                               "steps": "the steps"})

    name: Identifier = Field(description="The name the manager delegates to (its tool name).")
    description: str = Field(
        "", max_length=500, description="What the team does, told to the manager when it chooses a worker."
    )
    steps: list[Step] = Field(
        min_length=1,
        max_length=200,
        description="The team's steps (any kinds); templates read the sub-task as `{{ task }}`; "
        "the last step's output is the team's answer.",
    )


class SupervisorStep(_StepBase):
    """A manager agent delegates sub-tasks to worker agents and teams until it has an answer."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"manager": "the manager", "workers": "the workers", "teams": "the teams", "task": "the task", "max_delegations": "the most delegations", "conversation": "the conversation mode", "shared_history_chars": "the shared history cap (characters)"})
    diff_bounds = MappingProxyType({"max_delegations": "may delegate {b} times instead of {a}"})

    type: Literal["supervisor"]
    manager: Identifier = Field(description="The agent that plans and delegates.")
    workers: list[Identifier] = Field(
        default_factory=list, max_length=10, description="Agents the manager may delegate to."
    )
    teams: list[Team] = Field(
        default_factory=list,
        max_length=10,
        description="Sub-flows the manager may delegate to, each a named list of steps; a team's steps may "
        "hold a supervisor with teams of its own, at most 3 levels deep. Each delegation counts against "
        "`max_delegations`, and every step it runs against `limits.max_steps`.",
    )
    task: Template = Field(description="The overall task given to the manager.")
    max_delegations: int = Field(
        5, ge=1, le=20, description="Upper bound on delegations before it must answer."
    )
    conversation: Literal["isolated", "shared"] = Field(
        "isolated",
        description="`isolated`: a worker sees only its sub-task. `shared`: every worker (and team, "
        "as `{{ task }}`) also reads the conversation so far: the task, the manager's delegations "
        "and the other workers' answers.",
    )
    shared_history_chars: int = Field(
        12_000,
        ge=1_000,
        le=100_000,
        description="Cap on the shared conversation a worker reads; when it is longer, the task stays, "
        "the oldest delegations and answers are left out (with a note saying how many) and the trace "
        "shows a warning.",
    )

    diagram_shape = "round"

    def members(self) -> list[str]:
        """Everyone the manager may delegate to: worker agents, then teams."""
        return [*self.workers, *(team.name for team in self.teams)]

    def children(self) -> list[Children]:
        return [Children(("teams", i, "steps"), team.steps) for i, team in enumerate(self.teams)]

    def reads(self) -> list[Read]:
        return [Read(("task",), self.task)]

    def agents_named(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("manager",), self.manager), *((("workers", i), w) for i, w in enumerate(self.workers))]

    def output_agent(self) -> str | None:
        return self.manager

    def min_runs(self) -> int:
        return 1  # the manager may answer without delegating

    def max_runs(self) -> int:
        per_delegation = max([1, *(max_executions(team.steps) for team in self.teams)])
        return 1 + self.max_delegations * per_delegation

    def team_depth(self) -> int:
        """How deeply teams nest below this step (0: no teams)."""
        return max([0, *(1 + _depth(team.steps) for team in self.teams)])

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        for where, name in self.agents_named():
            ck.agent(name, (*path, *where))
        if not self.members():
            ck.error(path, f"supervisor `{self.id}` has no one to delegate to",
                     "add `workers: [<agent>]` or `teams:` with a named list of steps")
        if self.manager in self.workers:
            ck.error((*path, "manager"), f"manager `{self.manager}` is also one of its workers")
        ck.template(self.task, (*path, "task"), scope)
        seen = set(self.workers)
        for i, team in enumerate(self.teams):
            where = (*path, "teams", i)
            if team.name in seen:
                ck.error((*where, "name"), f"`{team.name}` names two workers of supervisor `{self.id}`",
                         "give each worker and team its own name")
            seen.add(team.name)
            for step, spath in _nested(team.steps, (*where, "steps")):
                if step.type in NOT_IN_TEAMS:
                    ck.error((*spath, "type"), f"`{step.type}` steps cannot run inside team `{team.name}`",
                             NOT_IN_TEAMS[step.type])
            inner = scope.branch()  # earlier steps and the sub-task; the team's own steps stay inside
            inner.item, inner.item_type = "task", STRING
            ck.walk(team.steps, (*where, "steps"), inner)
        if self.team_depth() > MAX_TEAM_DEPTH:
            ck.error((*path, "teams"), f"teams nest {self.team_depth()} levels deep below `{self.id}`; "
                     f"at most {MAX_TEAM_DEPTH} are allowed", "flatten a team into its parent's workers")

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        """Each round the manager reads the task plus every answer so far; then one member answers:
        an average one expected, the most expensive in the worst case (a team runs its steps)."""
        teams = {team.name: est.steps(team.steps) for team in self.teams}
        answers = "x" * (4 * est.answer_tokens)

        def delegation(k: int) -> Pair[Any]:
            shared = self.task + answers * k if self.conversation == "shared" else self.task
            return est.one_of([teams[m] if m in teams else est.agent(m, shared) for m in self.members()])

        def rounds(n: int, which: int) -> Any:
            calls = [est.agent(self.manager, self.task + answers * k)[which] for k in range(n + 1)]
            return est.total(calls + [delegation(k)[which] for k in range(n)] if self.members() else calls)

        return (rounds(est.expected("delegations", self.max_delegations), 0),
                rounds(self.max_delegations, 1))

    def diagram_label(self) -> str:
        shared = " (shared)" if self.conversation == "shared" else ""
        return f"{self.id}: {self.manager} supervises{shared} {', '.join(self.members())}"

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        """The supervisor node; each team's steps hang off it and answer back to it."""
        nid = d.node(self.diagram_label() + self.guard_note(), self.diagram_shape)
        d.connect(tails, nid)
        for team in self.teams:
            ends = d.steps(team.steps, [(nid, f"delegates to {team.name}")])
            d.connect([(tail, None) for tail, _ in ends], nid)
        return [(nid, self.diagram_exit)]


def _nested(steps: Sequence[Step], path: Path) -> Iterator[tuple[Step, Path]]:
    from schemas.walk import iter_steps

    return iter_steps(steps, path)


def _depth(steps: Sequence[Step]) -> int:
    return max([0, *(s.team_depth() for s, _ in _nested(steps, ()) if isinstance(s, SupervisorStep))])
