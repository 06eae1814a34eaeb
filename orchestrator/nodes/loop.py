"""The `loop` step: run the body, check `until`, go round again at most `max_iterations` times.

The start node sets iteration 1; after the body's last node a conditional edge evaluates `until`
(with `loop.iteration` in its context) and goes either to the next-iteration node, which records
the finished round's outputs (read as `loop.previous` and `loop.history`), bumps the counter and
re-enters the body, or to the end node.
"""

from __future__ import annotations

from typing import Any

from orchestrator import events as ev
from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import RunContext, Scope, begin_composite, end_composite, holds
from orchestrator.nodes.graph import Builder, Piece, add_composite
from orchestrator.state import RunState, template_context
from schemas.models import LoopStep
from schemas.walk import iter_steps


def _body_ids(step: LoopStep) -> list[str]:
    return [inner.id for inner, _ in iter_steps(step.steps)]


def loop_start(ctx: RunContext, step: LoopStep, scope: Scope) -> Node:
    """Iteration 1 with no finished rounds (a loop inside another loop starts afresh each time)."""
    body = _body_ids(step)

    async def node(state: RunState) -> dict[str, Any]:
        begin_composite(ctx, state, step.id, "loop", scope)
        return {"loops": {step.id: 1}, "loop_rounds": {step.id: {sid: [] for sid in body}}, "steps_done": 1}

    return node

    return node


def _done(step: LoopStep, state: RunState) -> bool:
    return holds(step.until, template_context(state, loop_id=step.id), step.id)


def loop_edge(step: LoopStep, next_node: str, end_node: str) -> Any:
    def check(state: RunState) -> str:
        iteration = (state.get("loops") or {}).get(step.id, 1)
        if _done(step, state) or iteration >= step.max_iterations:
            return end_node
        return next_node

    return check


def loop_next(step: LoopStep) -> Node:
    """Record the round that just finished (each body step's output), then bump the iteration."""
    body = _body_ids(step)

    async def node(state: RunState) -> dict[str, Any]:
        outputs = state.get("outputs") or {}
        rounds = (state.get("loop_rounds") or {}).get(step.id) or {}
        finished = {sid: [*rounds.get(sid, []), outputs.get(sid)] for sid in body}
        return {"loops": {step.id: (state.get("loops") or {}).get(step.id, 1) + 1},
                "loop_rounds": {step.id: finished}}

    return node

    return node


def loop_end(ctx: RunContext, step: LoopStep) -> Node:
    """The loop's output is its last body step's output in the last iteration."""

    async def node(state: RunState) -> dict[str, Any]:
        iterations = (state.get("loops") or {}).get(step.id, 1)
        completed = _done(step, state)
        if not completed:
            ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step.id,
                                message=f"loop `{step.id}` stopped after max_iterations={step.max_iterations} "
                                f"without `{step.until}` becoming true"))
        output = (state.get("outputs") or {}).get(step.steps[-1].id)
        return end_composite(ctx, step.id, "loop", output, iterations=iterations, item_index=state.get("item_index"))

    return node


def compile_step(b: Builder, step: LoopStep, scope: Scope) -> Piece:
    """`<id>` sets iteration 1; after the body `until` decides: `<id>#next` (again) or `<id>#end`."""
    end = add_composite(b, step.id, loop_start(b.ctx, step, scope), loop_end(b.ctx, step))
    nxt = f"{step.id}#next"
    b.graph.add_node(nxt, loop_next(step))
    body = b.sequence(step.steps, scope.inside(step.id, loop_id=step.id))
    assert body is not None  # a loop has at least one step
    b.graph.add_edge(step.id, body.entry)
    b.graph.add_edge(nxt, body.entry)
    b.graph.add_conditional_edges(body.exit, loop_edge(step, nxt, end), [nxt, end])
    return Piece(step.id, end)
