"""Compile a validated `Workflow` into a LangGraph `StateGraph`.

Every step becomes a piece of graph with one entry node and one exit node, chained in order:

    agent / approval / supervisor   one node (entry = exit)
    parallel    `<id>` fans out by edges to each branch; branches' exits meet at `<id>#end` (barrier);
                a composite branch runs as its own subgraph inside one `<branch id>#branch` node
    map         `<id>` resolves the list, `Send`s one `<id>#item` per element, `<id>#end` gathers
    route       `<id>` decides; a conditional edge picks a case (or `<id>#end`); cases end at `<id>#end`,
                whose output is the last output of the case taken
    loop        `<id>` sets iteration 1; after the body, `until` decides: `<id>#next` (back to the
                body) or `<id>#end`

Step ids cannot contain `#`, so generated node names never collide with steps. Every exit node has
exactly one way out, which keeps parallel barriers honest even with loops and routes inside
branches. Nodes reach their run through `CURRENT_RUN`, so a compiled graph is reused across runs
(the engine caches it per workflow) and only the checkpointer is attached per run.
"""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from orchestrator.nodes import approval, loop, parallel, route
from orchestrator.nodes import map as map_step
from orchestrator.nodes.agent import agent_node
from orchestrator.nodes.common import CURRENT_RUN, RunContext, Scope
from orchestrator.nodes.supervisor import supervisor_node
from orchestrator.state import RunState
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


@dataclass(frozen=True)
class Piece:
    entry: str
    exit: str


def recursion_limit(workflow: Workflow) -> int:
    """LangGraph supersteps allowed: each step execution needs at most three (start, end, next)."""
    return 3 * workflow.limits.max_steps + 16


class _Builder:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.graph: StateGraph = StateGraph(RunState)

    def sequence(self, steps: list[Step], scope: Scope) -> Piece | None:
        pieces = [self.step(step, scope) for step in steps]
        for before, after in zip(pieces, pieces[1:], strict=False):
            self.graph.add_edge(before.exit, after.entry)
        return Piece(pieces[0].entry, pieces[-1].exit) if pieces else None

    def branch(self, step: Step, scope: Scope) -> Piece:
        """A parallel branch: one node, or (for composite steps) a subgraph run by one node.

        A composite branch gets its own graph so its supersteps do not wait for its siblings'.
        """
        if isinstance(step, AgentStep | ApprovalStep | SupervisorStep):
            return self.step(step, scope)
        inner = _Builder(self.ctx)
        piece = inner.sequence([step], scope)
        assert piece is not None
        inner.graph.add_edge(START, piece.entry)
        inner.graph.add_edge(piece.exit, END)
        name = f"{step.id}#branch"
        self.graph.add_node(name, parallel.branch_node(inner.graph.compile(name=name)))
        return Piece(name, name)

    def step(self, step: Step, scope: Scope) -> Piece:
        ctx, add = self.ctx, self.graph.add_node
        end = f"{step.id}#end"
        match step:
            case AgentStep():
                add(step.id, agent_node(ctx, step, scope))
            case ApprovalStep():
                add(step.id, approval.approval_node(ctx, step, scope))
            case SupervisorStep():
                add(step.id, supervisor_node(ctx, step, scope))
            case ParallelStep():
                add(step.id, parallel.parallel_start(ctx, step, scope))
                add(end, parallel.parallel_end(ctx, step))
                exits = []
                for branch in step.branches:
                    piece = self.branch(branch, scope)
                    self.graph.add_edge(step.id, piece.entry)
                    exits.append(piece.exit)
                self.graph.add_edge(exits, end)
                return Piece(step.id, end)
            case MapStep():
                item = map_step.item_node_name(step)
                add(step.id, map_step.map_start(ctx, step, scope))
                add(item, map_step.map_item(ctx, step, scope))
                add(end, map_step.map_end(ctx, step))
                self.graph.add_conditional_edges(step.id, map_step.map_fanout(step, end), [item, end])
                self.graph.add_edge(item, end)
                return Piece(step.id, end)
            case RouteStep():
                add(step.id, route.route_start(ctx, step, scope))
                add(end, route.route_end(ctx, step))
                entries = []
                for case in step.cases:
                    piece = self.sequence(case.steps, scope)
                    assert piece is not None  # a case has at least one step
                    self.graph.add_edge(piece.exit, end)
                    entries.append(piece.entry)
                default = self.sequence(step.default, scope)
                if default is not None:
                    self.graph.add_edge(default.exit, end)
                target = default.entry if default is not None else end
                self.graph.add_conditional_edges(
                    step.id, route.route_edge(step, entries, target), sorted({*entries, target})
                )
                return Piece(step.id, end)
            case LoopStep():
                nxt = f"{step.id}#next"
                add(step.id, loop.loop_start(ctx, step, scope))
                add(nxt, loop.loop_next(step))
                add(end, loop.loop_end(ctx, step))
                body = self.sequence(step.steps, Scope(loop_id=step.id, item_name=scope.item_name))
                assert body is not None  # a loop has at least one step
                self.graph.add_edge(step.id, body.entry)
                self.graph.add_edge(nxt, body.entry)
                self.graph.add_conditional_edges(body.exit, loop.loop_edge(step, nxt, end), [nxt, end])
                return Piece(step.id, end)
        return Piece(step.id, step.id)


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
