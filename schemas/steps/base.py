"""What every step kind tells the generic code, so a kind lives in its own module.

Generic code (the tree walk, semantic checks, the cost estimate, the diagram, the compiler)
dispatches through these methods instead of matching on every kind. A kind overrides only what
differs from a leaf step: its child step lists, the templates and expressions it reads, how often
it runs at least and at most, its output's shape, its diagram node and its model calls. The
`Checker`, `Estimator` and `Diagram` protocols are what the schema layer asks of the code that
walks the steps (semantic checks here, the estimate in `chatbot`, the diagram in `ui`), so data
still flows one way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import Field

from schemas.fields import ArtifactName, FileFormat, Identifier, _Strict

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Reader, Scope
    from schemas.steps import Step
    from schemas.templates import Reference
    from schemas.value_types import VType

U = TypeVar("U")
Pair = tuple[U, U]  # (expected, worst case)
Tails = list[tuple[str, str | None]]  # diagram: (node id, label of the edge leaving it)


@dataclass(frozen=True)
class Children:
    """A list of child steps at `path` (relative to the step); `single` when the path names one step."""

    path: tuple[str | int, ...]
    steps: Sequence[Step]
    single: bool = False


@dataclass(frozen=True)
class Read:
    """A template or expression the step reads, at `path` relative to the step."""

    path: tuple[str | int, ...]
    text: str
    kind: Literal["template", "expression"] = "template"


class Checker(Protocol):
    """The semantic checker as a step kind sees it."""

    reader: Reader
    current: str  # the step whose templates are being read (for the loop-feedback warning)
    types: list[VType]  # the type of each block of the last template checked

    def agent(self, name: str, where: Path) -> None: ...
    def template(self, text: str, where: Path, scope: Scope) -> list[Reference] | None: ...
    def expression(self, text: str, where: Path, scope: Scope) -> None: ...
    def error(self, where: Path, message: str, fix: str | None = None) -> None: ...
    def walk(self, steps: Sequence[Step], path: Path, scope: Scope) -> None: ...
    def step(self, step: Step, path: Path, scope: Scope) -> None: ...
    def loop_feedback(self, body: Sequence[Step], loop_id: str, path: Path) -> None: ...


class Estimator(Protocol[U]):
    """The cost estimate as a step kind sees it: usage tallies of one scenario are `U`."""

    answer_tokens: int

    def none(self) -> Pair[U]: ...
    def agent(self, name: str | None, prompt: str, settings: dict[str, Any] | None = None) -> Pair[U]: ...
    def model_call(self, model: str | None, prompt: str, extra_tokens: int, answer_tokens: int) -> Pair[U]: ...
    def steps(self, steps: Sequence[Step]) -> Pair[U]: ...
    def repeat(self, usage: Pair[U], what: str, most: int) -> Pair[U]: ...
    def one_of(self, branches: list[Pair[U]]) -> Pair[U]: ...
    def total(self, parts: list[U]) -> U: ...
    def expected(self, what: str, most: int) -> int: ...


class Diagram(Protocol):
    """The Mermaid builder as a step kind sees it."""

    def node(self, label: str, shape: str = "rect") -> str: ...
    def edge(self, src: str, dst: str, label: str | None = None) -> None: ...
    def connect(self, tails: Tails, dst: str) -> None: ...
    def steps(self, steps: Sequence[Step], entry: Tails) -> Tails: ...
    def step(self, step: Step, tails: Tails) -> Tails: ...


class Retry(_Strict):
    """Run a failed step again, a bounded number of times, waiting longer before each attempt."""

    attempts: int = Field(2, ge=2, le=5, description="Attempts in all, the first one included.")
    backoff_seconds: float = Field(
        1.0, ge=0, le=60, description="Wait before the second attempt; it doubles before each later one."
    )


class Artifact(_Strict):
    """A named file a step writes from its output, kept in the run's own folder for download."""

    name: ArtifactName = Field(description="The file's name, e.g. `report.md`; later writes replace it.")
    format: FileFormat | None = Field(
        None,
        description="`text`, `markdown`, `json` or `csv` (a list of objects, one row each); when "
        "absent, the name's extension decides.",
    )


class _StepBase(_Strict):
    id: Identifier = Field(description="Unique step name; later steps read `{{ steps.<id>.output }}`.")
    description: str = Field("", max_length=500, description="A note for people reading the workflow.")
    retry: Retry | None = Field(
        None,
        description="Run the step again when it fails: a model or tool error, an answer that does not "
        "fit its `output`, its `timeout_seconds`. Never for budget limits, rejections or Stop. "
        "Steps that contain steps (loop, map, parallel, route) take it on the steps inside.",
    )
    timeout_seconds: float | None = Field(
        None, gt=0, le=3600, description="Deadline for one attempt of this step (the run's own timeout still applies)."
    )
    artifact: Artifact | None = Field(
        None, description="Also write this step's output to a named file the run keeps (Run tab and CLI downloads)."
    )

    leaf: ClassVar[bool] = True  # compiles to one graph node (a parallel branch runs it inline)
    guardable: ClassVar[bool] = True  # accepts `retry` and `timeout_seconds` (a step that does work)
    ends_run: ClassVar[bool] = False  # the run stops after this step (steps after it never run)
    diagram_shape: ClassVar[str] = "rect"
    diagram_exit: ClassVar[str | None] = None  # label of the edge leaving a leaf's diagram node
    # The words `schemas.config_diff` uses for this kind's own fields, its bounds ("may run {b}
    # times instead of {a}") and its model fields when unset; a test checks every field has words.
    diff_words: ClassVar[Mapping[str, str]] = MappingProxyType({})
    diff_bounds: ClassVar[Mapping[str, str]] = MappingProxyType({})
    diff_unset_model: ClassVar[Mapping[str, str]] = MappingProxyType({})

    # ---- structure ----------------------------------------------------------------------------

    def children(self) -> list[Children]:
        """The step lists nested in this step, with their YAML paths."""
        return []

    def reads(self) -> list[Read]:
        """The templates and expressions this step reads, with their YAML paths."""
        return []

    def agents_named(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(path, agent name) for every agent this step names."""
        return []

    def models_named(self) -> list[tuple[tuple[str | int, ...], str | None]]:
        """(path, model name) for every model this step calls itself, not through an agent
        (`None`: the workflow's default model)."""
        return []

    def min_runs(self) -> int:
        """The fewest step executions this step counts against `limits.max_steps` (itself included)."""
        return 1 + sum(min_executions(c.steps) for c in self.children())

    def max_runs(self) -> int:
        """Step executions when every loop, map and delegation reaches its maximum."""
        return 1 + sum(max_executions(c.steps) for c in self.children())

    # ---- what later steps read ----------------------------------------------------------------

    def output_agent(self) -> str | None:
        """The agent whose answer is this step's output, when there is one."""
        return None

    def output_shape(self, reader: Reader) -> VType:
        """The type of `steps.<id>.output`: declared fields (nested), text (`string`), or ANY."""
        return reader.agent_type(self.output_agent())

    # ---- generic walks --------------------------------------------------------------------------

    def guard_problems(self) -> list[tuple[str, str, str]]:
        """(field, message, fix) for `retry`/`timeout_seconds` set on a kind that cannot take them."""
        if self.guardable and self.leaf:
            return []
        kind = getattr(self, "type", "step")
        inside = "on the steps inside it" if not self.leaf else "on the steps that do the work"
        return [(name, f"`{kind}` steps cannot take `{name}`", f"remove it, or put `{name}` {inside}")
                for name in ("retry", "timeout_seconds") if getattr(self, name) is not None]

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        """Semantic checks: named agents exist, reads are visible, children in order."""
        for where, name in self.agents_named():
            ck.agent(name, (*path, *where))
        for read in self.reads():
            if read.kind == "template":
                ck.template(read.text, (*path, *read.path), scope)
            else:
                ck.expression(read.text, (*path, *read.path), scope)
        for child in self.children():
            ck.walk(child.steps, (*path, *child.path), scope)

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        """Model calls of one run of this step, expected and worst case."""
        parts = [est.steps(c.steps) for c in self.children()]
        return est.total([p[0] for p in parts]), est.total([p[1] for p in parts])

    def diagram_label(self) -> str:
        return f"{self.id}: {getattr(self, 'type', 'step')}"

    def diagram(self, d: Diagram, tails: Tails) -> Tails:
        """Draw this step after `tails`; returns the new tails."""
        nid = d.node(self.diagram_label() + self.guard_note(), self.diagram_shape)
        d.connect(tails, nid)
        return [(nid, self.diagram_exit)]

    def guard_note(self) -> str:
        """How the diagram shows `retry` and `timeout_seconds`, e.g. ` (3 tries, 90 s limit)`."""
        notes = [f"{self.retry.attempts} tries"] if self.retry is not None else []
        notes += [f"{self.timeout_seconds:g} s limit"] if self.timeout_seconds is not None else []
        return f" ({', '.join(notes)})" if notes else ""


def min_executions(steps: Sequence[Any]) -> int:
    """The fewest step executions a run of `steps` counts against `limits.max_steps`.

    Every step counts once when it starts (composites too); a loop runs its body at least once,
    a route takes its cheapest branch, a map may get no items.
    """
    return sum(step.min_runs() for step in steps)


def max_executions(steps: Sequence[Any]) -> int:
    """Step executions when every loop, map and delegation reaches its maximum."""
    return sum(step.max_runs() for step in steps)
