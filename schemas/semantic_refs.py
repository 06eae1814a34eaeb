"""Checks what a template or expression reads: it must exist and run upstream on every path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import OutputField, Step, Workflow
from schemas.suggest import did_you_mean

FieldType = Literal["string", "integer", "number", "boolean", "list", "any"]
# What a step's output looks like to a reader: declared fields, plain text, or not checked.
OutputShape = dict[str, FieldType] | Literal["text", "any"]


@dataclass
class Scope:
    """What a template may read at one point of the tree; grows as the walk goes on.

    Sequential steps add to the same sets; only branch points (parallel, route, loop) copy them,
    which keeps a 500-step walk linear.
    """

    visible: set[str] = field(default_factory=set)
    in_loop: bool = False
    item: str | None = None
    hidden_by: dict[str, str] = field(default_factory=dict)  # step id -> route that hides it
    concurrent: bool = False  # inside a parallel branch or a map, where other work runs at once

    def branch(self, *, in_loop: bool | None = None, concurrent: bool | None = None) -> Scope:
        """An independent copy for a branch or loop body."""
        loop = self.in_loop if in_loop is None else in_loop
        together = self.concurrent if concurrent is None else concurrent
        return Scope(set(self.visible), loop, self.item, dict(self.hidden_by), together)

    def with_item(self, name: str) -> Scope:
        """The same (shared) view plus a map item name; used read-only for one prompt."""
        return Scope(self.visible, self.in_loop, name, self.hidden_by, concurrent=True)


@dataclass
class Reader:
    """Resolves dotted paths against the workflow; records issues and which inputs were read."""

    workflow: Workflow
    locator: Locator
    steps: dict[str, Step]
    issues: list[Issue] = field(default_factory=list)
    inputs_read: set[str] = field(default_factory=set)

    def output_shape(self, step_id: str) -> OutputShape:
        """What `steps.<id>.output` holds, as the engine builds it."""
        step = self.steps.get(step_id)
        return "any" if step is None else step.output_shape(self)

    def field_spec(self, step_id: str, name: str) -> OutputField | None:
        step = self.steps.get(step_id)
        return None if step is None else step.field_spec(self, name)

    def check(self, ref: tuple[str, ...], scope: Scope, where: Path, snippet: tuple[str, int]) -> None:
        """Record an issue when `ref` cannot be read at this point."""
        problem = self._problem(ref, scope)
        if problem is not None:
            self.issues.append(self.locator.issue(where, problem[0], problem[1], snippet=snippet))

    def _problem(self, ref: tuple[str, ...], scope: Scope) -> tuple[str, str | None] | None:
        root, dotted = ref[0], ".".join(ref)
        if scope.item is not None and root == scope.item:
            return None
        if root == "inputs":
            return self._input_problem(ref, dotted)
        if root == "steps":
            return self._step_problem(ref, scope, dotted)
        if root == "loop":
            if not scope.in_loop:
                return f"`{dotted}` is only available inside a loop", None
            if ref != ("loop", "iteration"):
                return f"unknown name `{dotted}`", "write `loop.iteration`"
            return None
        if root == "item":
            return f"`{dotted}` is only available inside a map step's prompt", None
        roots = (
            ["inputs", "steps"] + (["loop"] if scope.in_loop else []) + ([scope.item] if scope.item else [])
        )
        return f"unknown name `{dotted}`", did_you_mean(root, roots)

    def _input_problem(self, ref: tuple[str, ...], dotted: str) -> tuple[str, str | None] | None:
        if len(ref) < 2:
            return "name an input: `inputs.<name>`", did_you_mean("", self.workflow.inputs)
        spec = self.workflow.inputs.get(ref[1])
        if spec is None:
            return f"unknown input `{ref[1]}` in `{dotted}`", did_you_mean(ref[1], self.workflow.inputs) or (
                "declare it under `inputs`"
            )
        self.inputs_read.add(ref[1])
        if len(ref) > 2 and not (spec.type == "list" and len(ref) == 3 and ref[2].isdigit()):
            return f"input `{ref[1]}` is a {spec.type}: `{dotted}` reads a field it does not have", None
        return None

    def _step_problem(self, ref: tuple[str, ...], scope: Scope, dotted: str) -> tuple[str, str | None] | None:
        if len(ref) < 2:
            return "name a step: `steps.<id>.output`", None
        step_id = ref[1]
        if step_id not in self.steps:
            return f"unknown step `{step_id}` in `{dotted}`", did_you_mean(step_id, scope.visible)
        if step_id not in scope.visible:
            route = scope.hidden_by.get(step_id)
            if route is not None:
                return (
                    f"step `{step_id}` runs inside a branch of route `{route}`, so it is not available here",
                    f"read `steps.{route}.output` instead",
                )
            return f"step `{step_id}` does not run before this point", "move it earlier or read another step"
        if len(ref) < 3 or ref[2] != "output":
            return f"write `steps.{step_id}.output` to read a step's result", None
        return self._field_problem(ref, dotted)

    def _field_problem(self, ref: tuple[str, ...], dotted: str) -> tuple[str, str | None] | None:
        if len(ref) == 3:
            return None
        step_id, name = ref[1], ref[3]
        shape = self.output_shape(step_id)
        if shape == "any":
            return None
        if shape == "text":
            return (
                f"step `{step_id}` returns text, so `{dotted}` has nothing to read",
                "declare `output:` fields on its agent, or read `steps.{step_id}.output`".replace(
                    "{step_id}", step_id
                ),
            )
        if name not in shape:
            hint = did_you_mean(name, shape) or ("declare it under the agent's `output`" if shape else None)
            return f"step `{step_id}` has no output field `{name}`", hint
        if shape[name] == "any":
            return None
        if len(ref) > 4 and not (shape[name] == "list" and len(ref) == 5 and ref[4].isdigit()):
            return f"output field `{name}` of step `{step_id}` is a {shape[name]}: it has no `{ref[4]}`", None
        return None

    def value_type(self, ref: tuple[str, ...]) -> str | None:
        """The declared type of what `ref` reads, when it is known."""
        if ref[0] == "inputs" and len(ref) == 2 and ref[1] in self.workflow.inputs:
            return self.workflow.inputs[ref[1]].type
        if ref[0] == "steps" and len(ref) >= 3 and ref[1] in self.steps:
            step = self.steps[ref[1]]
            if len(ref) == 3:
                return step.output_type()
            shape = self.output_shape(ref[1])
            if isinstance(shape, dict) and len(ref) == 4:
                return shape.get(ref[3])
        return None
