"""The `end` step: record the run's output and go straight to the graph's end.

Its piece's exit is a node nothing leads to, so the steps chained after it never run; `ended` in
the state tells the driver whose output is the run's. The routes and loops it sits in are closed
with the same output, so every started step has its finish in the trace and history.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END

from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import RunContext, Scope, Usage, end_composite, run_step
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.nodes.transform import build
from orchestrator.state import RunState
from schemas.models import EndStep
from schemas.walk import all_steps


def end_node(ctx: RunContext, step: EndStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        async def body(usage: Usage) -> Any:
            return build(step.output, scope.context(state), step.id)

        delta = await run_step(ctx, state, step.id, "end", scope, body)
        kinds = {s.id: s.type for s in all_steps(ctx.workflow)}
        for open_id in reversed(list(ctx.started_at)):  # the routes and loops it leaves, innermost first
            closed = end_composite(ctx, open_id, kinds.get(open_id, "step"), delta["outputs"][step.id])
            delta["outputs"] = {**delta["outputs"], **closed["outputs"]}
            delta["accounted"] = [*delta["accounted"], *closed["accounted"]]
        return {**delta, "ended": step.id}

    return node


async def _never(state: RunState) -> dict[str, Any]:
    return {}


def compile_step(b: Builder, step: EndStep, scope: Scope) -> Piece:
    after = f"{step.id}#after"
    b.graph.add_node(step.id, end_node(b.ctx, step, scope))
    b.graph.add_node(after, _never)  # the steps after an `end` hang here, unreachable
    b.graph.add_edge(step.id, END)
    return Piece(step.id, after)
