"""Compile a validated `Workflow` into a LangGraph `StateGraph`.

Every step becomes a piece of graph with one entry node and one exit node, chained in order. Each
kind builds its own piece in `orchestrator/nodes/<kind>.py` (`compile_step`, registered below):
agent, approval and supervisor are one node; parallel, map, route and loop open with `<id>` and
close with `<id>#end`. A composite branch of a parallel step runs as its own subgraph inside one
`<branch id>#branch` node.

Step ids cannot contain `#`, so generated node names never collide with steps. Every exit node has
exactly one way out, which keeps parallel barriers honest even with loops and routes inside
branches. Nodes reach their run through `CURRENT_RUN`, so a compiled graph is reused across runs
(the engine caches it per workflow) and only the checkpointer is attached per run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from orchestrator.nodes import agent, approval, ask, end, loop, parallel, route, supervisor, transform
from orchestrator.nodes import map as map_step
from orchestrator.nodes.common import CURRENT_RUN, RunContext, Scope
from orchestrator.nodes.graph import Piece
from orchestrator.state import RunState
from schemas.models import Step, Workflow

# The compile hook of every step kind, by its `type` (one line per kind).
COMPILERS: MappingProxyType[str, Callable[[Any, Any, Scope], Piece]] = MappingProxyType({
    "agent": agent.compile_step,
    "approval": approval.compile_step,
    "ask": ask.compile_step,
    "supervisor": supervisor.compile_step,
    "parallel": parallel.compile_step,
    "map": map_step.compile_step,
    "route": route.compile_step,
    "loop": loop.compile_step,
    "transform": transform.compile_step,
    "end": end.compile_step,
})


def recursion_limit(workflow: Workflow) -> int:
    """LangGraph supersteps allowed: each step execution needs at most three (start, end, next)."""
    return 3 * workflow.limits.max_steps + 16


class _Builder:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.graph: StateGraph = StateGraph(RunState)

    def sequence(self, steps: Sequence[Step], scope: Scope) -> Piece | None:
        pieces = [self.step(step, scope) for step in steps]
        for before, after in zip(pieces, pieces[1:], strict=False):
            self.graph.add_edge(before.exit, after.entry)
        return Piece(pieces[0].entry, pieces[-1].exit) if pieces else None

    def branch(self, step: Step, scope: Scope) -> Piece:
        """A parallel branch: one node, or (for composite steps) a subgraph run by one node.

        A composite branch gets its own graph so its supersteps do not wait for its siblings'.
        """
        if step.leaf:
            return self.step(step, scope)
        name = f"{step.id}#branch"
        self.graph.add_node(name, parallel.branch_node(self.subgraph([step], scope, name)))
        return Piece(name, name)

    def subgraph(self, steps: Sequence[Step], scope: Scope, name: str, *,
                 checkpointer: bool | None = None) -> CompiledStateGraph:
        """`steps` as a graph of their own (a composite branch, a map item, a supervisor's team)."""
        inner = _Builder(self.ctx)
        piece = inner.sequence(steps, scope)
        assert piece is not None
        inner.graph.add_edge(START, piece.entry)
        inner.graph.add_edge(piece.exit, END)
        return inner.graph.compile(name=name, checkpointer=checkpointer)

    def step(self, step: Step, scope: Scope) -> Piece:
        return COMPILERS[step.type](self, step, scope)


def build_graph(workflow: Workflow) -> StateGraph:
    builder = _Builder(CURRENT_RUN)
    piece = builder.sequence(workflow.steps, Scope())
    assert piece is not None  # a workflow has at least one step
    builder.graph.add_edge(START, piece.entry)
    builder.graph.add_edge(piece.exit, END)
    return builder.graph


def compile_workflow(workflow: Workflow) -> CompiledStateGraph:
    """The runnable graph of a workflow, without a checkpointer (see `with_checkpointer`)."""
    return build_graph(workflow).compile(name=workflow.name)


def with_checkpointer(graph: CompiledStateGraph, checkpointer: Checkpointer) -> CompiledStateGraph:
    """A cheap copy of a compiled graph that persists to `checkpointer`."""
    return graph.copy(update={"checkpointer": checkpointer})
