"""The `transform` step: fill the templates of `value` from the run so far; no model call, no cost."""

from __future__ import annotations

from typing import Any

from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import RunContext, Scope, Usage, fill, run_step
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.state import RunState
from schemas.models import TransformStep


def build(value: Any, context: dict[str, Any], step_id: str) -> Any:
    """`value` with every string filled; a string that is one reference keeps the raw value."""
    if isinstance(value, str):
        return fill(value, context, step_id, raw=True)
    if isinstance(value, list):
        return [build(item, context, step_id) for item in value]
    if isinstance(value, dict):
        return {key: build(item, context, step_id) for key, item in value.items()}
    return value


def transform_node(ctx: RunContext, step: TransformStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        async def body(usage: Usage) -> Any:
            return build(step.value, scope.context(state), step.id)

        return await run_step(ctx, state, step.id, "transform", scope, body)

    return node


def compile_step(b: Builder, step: TransformStep, scope: Scope) -> Piece:
    b.graph.add_node(step.id, transform_node(b.ctx, step, scope))
    return Piece(step.id, step.id)
