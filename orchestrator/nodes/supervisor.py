"""The `supervisor` step: a manager agent delegates to worker agents (offered as tools) until it answers."""

from __future__ import annotations

from typing import Any

from orchestrator.nodes.agent import Node
from orchestrator.nodes.agent_loop import run_agent, worker_tools
from orchestrator.nodes.common import RunContext, Scope, Usage, fill, run_step
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.state import RunState
from schemas.models import SupervisorStep


def supervisor_node(ctx: RunContext, step: SupervisorStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        manager = ctx.workflow.agents[step.manager]

        async def body(usage: Usage) -> Any:
            task = fill(step.task, scope.context(state), step.id)
            tools, descriptions = worker_tools(ctx, manager, step.workers)
            return await run_agent(
                ctx, step.manager, task, step_id=step.id, usage=usage, extra_tools=tools,
                descriptions=descriptions, max_tool_calls=step.max_delegations + manager.max_tool_calls,
                max_delegations=step.max_delegations,
            )

        return await run_step(ctx, state, step.id, "supervisor", scope, body, agent=step.manager)

    return node


def compile_step(b: Builder, step: SupervisorStep, scope: Scope) -> Piece:
    b.graph.add_node(step.id, supervisor_node(b.ctx, step, scope))
    return Piece(step.id, step.id)
