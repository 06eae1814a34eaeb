"""Checks what a template or expression reads: it must exist and run upstream on every path."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import OutputField, Step, Workflow
from schemas.suggest import did_you_mean
from schemas.value_types import (
    ANY,
    INTEGER,
    STRING,
    VType,
    from_fields,
    from_input,
    index_part,
    list_of,
    step_into,
)

APPROVAL_TYPE = from_fields({"approved": OutputField(type="boolean"), "feedback": OutputField()})
_PREVIOUS_HINT = "`loop.iteration`, `loop.previous.<step id>.output` or `loop.history.<step id>`"


@dataclass
class Scope:
    """What a template may read at one point of the tree; grows as the walk goes on.

    Sequential steps add to the same sets; only branch points (parallel, route, loop) copy them,
    which keeps a 500-step walk linear. `loop_id`/`loop_body`: the innermost loop and every step id
    inside its body; `looped`: step id -> the (innermost) loop whose body holds it, for every loop
    around this point.
    """

    visible: set[str] = field(default_factory=set)
    in_loop: bool = False
    item: str | None = None
    hidden_by: dict[str, str] = field(default_factory=dict)  # step id -> route that hides it
    loop_id: str | None = None
    loop_body: frozenset[str] = frozenset()
    looped: dict[str, str] = field(default_factory=dict)
    item_type: VType = ANY
    concurrent: bool = False  # inside a parallel branch or a map, where other work runs at once
    mapped: dict[str, str] = field(default_factory=dict)  # step id -> the map whose body holds it

    def branch(self, *, in_loop: bool | None = None, concurrent: bool | None = None) -> Scope:
        """An independent copy for a branch or loop body."""
        loop = self.in_loop if in_loop is None else in_loop
        together = self.concurrent if concurrent is None else concurrent
        return Scope(set(self.visible), loop, self.item, dict(self.hidden_by), self.loop_id, self.loop_body,
                     self.looped, self.item_type, together, self.mapped)

    def enter_loop(self, loop_id: str, body: frozenset[str]) -> Scope:
        """The scope of a loop's body: a copy that knows the loop and what its body holds."""
        inner = self.branch(in_loop=True)
        inner.loop_id, inner.loop_body = loop_id, body
        inner.looped = {**self.looped, **dict.fromkeys(body, loop_id)}
        return inner

    def with_item(self, name: str, item_type: VType = ANY) -> Scope:
        """The same (shared) view plus a map item name; used read-only for one prompt."""
        return replace(self, item=name, item_type=item_type, concurrent=True)


@dataclass
class Reader:
    """Resolves dotted paths against the workflow; records issues and which inputs were read."""

    workflow: Workflow
    locator: Locator
    steps: dict[str, Step]
    issues: list[Issue] = field(default_factory=list)
    inputs_read: set[str] = field(default_factory=set)

    types: dict[str, VType] = field(default_factory=dict)  # step id -> output type (computed once)

    def output_type(self, step_id: str) -> VType:
        """What `steps.<id>.output` holds, as the engine builds it (text is a `string`)."""
        known = self.types.get(step_id)
        if known is None:
            step = self.steps.get(step_id)
            known = self.types[step_id] = ANY if step is None else step.output_shape(self)
        return known

    def agent_type(self, agent_name: str | None) -> VType:
        """The output of an agent: its declared fields, text, or ANY for an unknown agent."""
        if agent_name is None:
            return ANY
        key = "agents/" + agent_name  # step ids cannot contain `/`
        known = self.types.get(key)
        if known is None:
            agent = self.workflow.agents.get(agent_name)
            known = ANY if agent is None else from_fields(agent.output) if agent.output else STRING
            self.types[key] = known
        return known

    def check(self, ref: tuple[str, ...], scope: Scope, where: Path, snippet: tuple[str, int]) -> VType:
        """The type `ref` reads; records an issue (and gives ANY) when it cannot be read here."""
        vtype, problem = self.resolve(ref, scope)
        if problem is not None:
            self.issues.append(self.locator.issue(where, problem[0], problem[1], snippet=snippet))
        return vtype

    def resolve(self, ref: tuple[str, ...], scope: Scope) -> tuple[VType, tuple[str, str | None] | None]:
        root, dotted = ref[0], ".".join(ref)
        if scope.item is not None and root == scope.item:
            return self._walk(scope.item_type, ref[1:], dotted, root)
        if root == "inputs":
            return self._input(ref, dotted)
        if root == "steps":
            return self._step(ref, scope, dotted)
        if root == "loop":
            return self._loop(ref, scope, dotted)
        if root == "item":
            return ANY, (f"`{dotted}` is only available inside a map's steps", None)
        if root == "secrets":
            return ANY, (f"`{dotted}`: a secret never goes into a prompt or a model",
                         "read it only in an http tool's `headers`, `query` or `body`")
        if root == "task":
            return ANY, (f"`{dotted}` is only available inside a supervisor's team (the sub-task it was given)", None)
        roots = (
            ["inputs", "steps"] + (["loop"] if scope.in_loop else []) + ([scope.item] if scope.item else [])
        )
        return ANY, (f"unknown name `{dotted}`", did_you_mean(root, roots))

    def _input(self, ref: tuple[str, ...], dotted: str) -> tuple[VType, tuple[str, str | None] | None]:
        if len(ref) < 2:
            return ANY, ("name an input: `inputs.<name>`", did_you_mean("", self.workflow.inputs))
        spec = self.workflow.inputs.get(ref[1])
        if spec is None:
            fix = did_you_mean(ref[1], self.workflow.inputs) or "declare it under `inputs`"
            return ANY, (f"unknown input `{ref[1]}` in `{dotted}`", fix)
        self.inputs_read.add(ref[1])
        vtype = from_input(spec)
        if len(ref) > 2 and not (spec.type == "list" and len(ref) == 3 and index_part(ref[2]) is not None):
            return ANY, (f"input `{ref[1]}` is a {spec.type}: `{dotted}` reads a field it does not have", None)
        return (vtype.items or ANY, None) if len(ref) == 3 else (vtype, None)

    def _step(self, ref: tuple[str, ...], scope: Scope, dotted: str) -> tuple[VType, tuple[str, str | None] | None]:
        if len(ref) < 2:
            return ANY, ("name a step: `steps.<id>.output`", None)
        step_id = ref[1]
        if step_id not in self.steps:
            return ANY, (f"unknown step `{step_id}` in `{dotted}`", did_you_mean(step_id, scope.visible))
        if step_id not in scope.visible:
            mapper = scope.mapped.get(step_id)
            if mapper is not None:
                return ANY, (
                    f"step `{step_id}` runs once per item inside map `{mapper}`, so it has no single output here",
                    f"read `steps.{mapper}.output` instead: the list of every item's result",
                )
            route = scope.hidden_by.get(step_id)
            if route is not None:
                return ANY, (
                    f"step `{step_id}` runs inside a branch of route `{route}`, so it is not available here",
                    f"read `steps.{route}.output` instead",
                )
            loop = scope.looped.get(step_id)
            if loop is not None:
                rest = ".".join(ref[2:]) or "output"
                return ANY, (
                    f"step `{step_id}` runs later in loop `{loop}`, so it has no output yet in this round",
                    f"to read what it said in the previous round, write `loop.previous.{step_id}.{rest}` "
                    "(null in the first round)" + ("" if loop == scope.loop_id else f" inside loop `{loop}`"),
                )
            return ANY, (f"step `{step_id}` does not run before this point", "move it earlier or read another step")
        if len(ref) < 3 or ref[2] != "output":
            return ANY, (f"write `steps.{step_id}.output` to read a step's result", None)
        return self._walk(self.output_type(step_id), ref[3:], dotted, step_id)

    def _loop(self, ref: tuple[str, ...], scope: Scope, dotted: str) -> tuple[VType, tuple[str, str | None] | None]:
        if not scope.in_loop:
            return ANY, (f"`{dotted}` is only available inside a loop", None)
        kind = ref[1] if len(ref) > 1 else ""
        if kind == "iteration" and len(ref) == 2:
            return INTEGER, None
        if kind not in ("previous", "history") or len(ref) < 3:
            return ANY, (f"unknown name `{dotted}`", f"write {_PREVIOUS_HINT}")
        step_id = ref[2]
        if step_id not in scope.loop_body:
            fix = did_you_mean(step_id, scope.loop_body) or (
                f"name a step inside loop `{scope.loop_id}`: " + ", ".join(f"`{s}`" for s in sorted(scope.loop_body))
            )
            return ANY, (f"`{dotted}` reads step `{step_id}`, which is not in the body of loop `{scope.loop_id}`", fix)
        if kind == "history":  # a list: one output per finished round
            return self._walk(list_of(self.output_type(step_id)), ref[3:], dotted, step_id)
        if len(ref) < 4 or ref[3] != "output":
            return ANY, (f"write `loop.previous.{step_id}.output` to read last round's result", None)
        return self._walk(self.output_type(step_id), ref[4:], dotted, step_id)

    def _walk(
        self, vtype: VType, parts: tuple[str, ...], dotted: str, owner: str
    ) -> tuple[VType, tuple[str, str | None] | None]:
        """Step into declared fields and list items one part at a time."""
        full = dotted.split(".")
        for depth, part in enumerate(parts):
            if depth == 0 and vtype.kind == "string" and owner in self.steps:
                return ANY, (
                    f"step `{owner}` returns text, so `{dotted}` has nothing to read",
                    f"declare `output:` fields on its agent, or read `steps.{owner}.output`",
                )
            inner, why = step_into(vtype, part)
            if why is not None:
                prefix = ".".join(full[: len(full) - len(parts) + depth])
                if vtype.kind == "object" and vtype.fields is not None:
                    hint = did_you_mean(part, vtype.fields) or "declare it under the agent's `output`"
                    if depth == 0 and owner in self.steps:
                        return ANY, (f"step `{owner}` has no output field `{part}`", hint)
                    return ANY, (f"`{prefix}` has no field `{part}`", hint)
                return ANY, (f"`{prefix}` {why}", None)
            vtype = inner
        return vtype, None
