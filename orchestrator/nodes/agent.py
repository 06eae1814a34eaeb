"""The `agent` step: one agent answers one rendered prompt (also each item of a `map`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator.nodes.agent_loop import run_agent
from orchestrator.nodes.common import RunContext, Scope, Usage, fill, run_step, template_sources
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.state import RunState
from schemas.models import AgentStep

Node = Callable[[RunState], Awaitable[dict[str, Any]]]


def agent_node(ctx: RunContext, step: AgentStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        async def body(usage: Usage) -> Any:
            context = scope.context(state)
            prompt = fill(step.prompt, context, step.id)
            return await run_agent(ctx, step.agent, prompt, step_id=step.id, usage=usage,
                                   sources=template_sources(step.prompt, context), settings=step.settings())

        return await run_step(ctx, state, step.id, "agent", scope, body, agent=step.agent)

    return node


def compile_step(b: Builder, step: AgentStep, scope: Scope) -> Piece:
    b.graph.add_node(step.id, agent_node(b.ctx, step, scope))
    return Piece(step.id, step.id)
