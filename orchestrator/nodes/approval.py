"""The `approval` step: `interrupt()` pauses the run until `Command(resume=decision)` continues it.

The node runs again from its start when resumed (LangGraph's interrupt semantics), so everything
before `interrupt()` must be cheap and side-effect free: it only renders the message.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from orchestrator import events as ev
from orchestrator.errors import RunRejected
from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import RunContext, Scope, Usage, fill, run_step
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.state import RunState
from schemas.models import ApprovalStep


def approval_node(ctx: RunContext, step: ApprovalStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        async def body(usage: Usage) -> Any:
            message = fill(step.message, scope.context(state), step.id)
            decision = interrupt({"step_id": step.id, "message": message})
            approved = bool(decision.get("approved")) if isinstance(decision, dict) else bool(decision)
            feedback = str(decision.get("feedback") or "") if isinstance(decision, dict) else ""
            ctx.emit(ev.ApprovalResolved(run_id=ctx.run_id, step_id=step.id, approved=approved, feedback=feedback))
            if not approved and step.on_reject == "stop":
                raise RunRejected(
                    f"approval `{step.id}` was rejected" + (f": {feedback}" if feedback else ""), step_id=step.id
                )
            return {"approved": approved, "feedback": feedback}

        return await run_step(ctx, state, step.id, "approval", scope, body)

    return node


def compile_step(b: Builder, step: ApprovalStep, scope: Scope) -> Piece:
    b.graph.add_node(step.id, approval_node(b.ctx, step, scope))
    return Piece(step.id, step.id)
