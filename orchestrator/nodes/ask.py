"""The `ask` step: `interrupt()` pauses the run with a question; the person's answer resumes it.

It pauses and resumes exactly like an approval (the same events with `kind="input"`, the same
resume call): the answer travels as the decision's feedback. The engine checks an answer against
the choices before resuming (`Engine.resume`), so the node only records it.
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
from schemas.steps.ask import AskStep, matching_choice


def ask_node(ctx: RunContext, step: AskStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        async def body(usage: Usage) -> Any:
            question = fill(step.question, scope.context(state), step.id)
            decision = interrupt({"step_id": step.id, "message": question, "kind": "input",
                                  "choices": step.choices})
            given = decision if isinstance(decision, dict) else {"approved": bool(decision)}
            answer = matching_choice(str(given.get("feedback") or ""), step.choices)
            if not given.get("approved") or answer is None:
                ctx.emit(ev.ApprovalResolved(run_id=ctx.run_id, step_id=step.id, approved=False))
                raise RunRejected(f"question `{step.id}` was not answered", step_id=step.id)
            ctx.emit(ev.ApprovalResolved(run_id=ctx.run_id, step_id=step.id, approved=True, feedback=answer))
            return answer

        return await run_step(ctx, state, step.id, "ask", scope, body)

    return node


def compile_step(b: Builder, step: AskStep, scope: Scope) -> Piece:
    b.graph.add_node(step.id, ask_node(b.ctx, step, scope))
    return Piece(step.id, step.id)
