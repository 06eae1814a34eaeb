"""The `supervisor` step: a manager agent delegates to workers (offered as tools) until it answers.

A worker is an agent or a team. A team's steps are compiled once into their own graph (without a
checkpointer: a delegation is part of the supervisor's one node, and a crash re-runs that node
whole) and run for each sub-task, which its templates read as `{{ task }}`; what its steps write
(outputs, counters, the ledger of accounted events) joins the supervisor's own state delta, so every
model call and step counts once. With `conversation: shared` every delegation carries the
conversation so far, cut to `shared_history_chars` (see `Conversation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator import events as ev
from orchestrator.nodes.agent import Node
from orchestrator.nodes.agent_loop import run_agent, worker_tools
from orchestrator.nodes.common import RunContext, Scope, Usage, fill, run_step, spent_by_failed_step
from orchestrator.nodes.graph import Builder, Piece
from orchestrator.nodes.parallel import add_deltas, state_delta
from orchestrator.state import RunState
from schemas.models import SupervisorStep
from schemas.templates import to_text


@dataclass
class Conversation:
    """The shared history of one supervisor execution: the task, delegations and answers, in order.

    `render` keeps the task (up to a third of `cap`) and the newest entries within `cap` characters;
    older entries are left out in one place, with a note saying how many, and the newest entry is
    cut at its end if it alone is too long.
    """

    cap: int
    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, speaker: str, text: str) -> None:
        self.entries.append((speaker, text))

    def render(self) -> tuple[str, bool]:
        """The transcript (at most `cap` characters) and whether anything was left out or cut."""
        if not self.entries:
            return "", False
        head = _clip(_entry(*self.entries[0]), self.cap // 3)
        room = self.cap - len(head) - _NOTE_ROOM
        kept: list[str] = []
        for speaker, text in reversed(self.entries[1:]):
            piece = _entry(speaker, text)
            if len(piece) + 2 > room:  # 2: the blank line before it
                if not kept and room > 2 + 1:
                    kept.append(_clip(piece, room - 2))
                    room = 0
                break
            kept.append(piece)
            room -= len(piece) + 2
        left_out = len(self.entries) - 1 - len(kept)
        note = [f"[{left_out} earlier message(s) left out to stay within shared_history_chars={self.cap}]"]
        text = "\n\n".join([head, *(note if left_out else []), *reversed(kept)])
        cut = bool(left_out) or head != _entry(*self.entries[0]) or bool(kept) and kept[0] != _entry(*self.entries[-1])
        return text, cut


_NOTE_ROOM = 100  # the note about left-out entries, and the blank line before it


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry(speaker: str, text: str) -> str:
    return f"[{speaker}] {text}"


def supervisor_node(ctx: RunContext, step: SupervisorStep, scope: Scope, teams: dict[str, Any]) -> Node:
    descriptions = {team.name: team.description for team in step.teams}
    last_step = {team.name: team.steps[-1].id for team in step.teams}

    async def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        manager = ctx.workflow.agents[step.manager]
        deltas: list[dict[str, Any]] = []

        async def body(usage: Usage) -> Any:
            task = fill(step.task, scope.context(state), step.id)
            shared = Conversation(step.shared_history_chars) if step.conversation == "shared" else None
            warned = False

            async def delegate(name: str, sub_task: str, depth: int) -> str:
                nonlocal warned
                given = sub_task
                if shared is not None:
                    transcript, cut = shared.render()
                    given = (f"The conversation so far between the manager and its workers:\n\n{transcript}"
                             f"\n\nYour sub-task: {sub_task}")
                    shared.add(f"{step.manager} → {name}", sub_task)
                    if cut and not warned:
                        warned = True
                        ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step.id, message=(
                            f"supervisor `{step.id}`: the shared conversation is longer than "
                            f"shared_history_chars={step.shared_history_chars}; workers read the task "
                            "and the newest messages only, cut to fit")))
                if name in teams:
                    answer = await _run_team(teams[name], last_step[name], state, given, config, deltas)
                else:
                    answer = to_text(await run_agent(ctx, name, given, step_id=step.id, usage=usage, depth=depth))
                if shared is not None:
                    shared.add(name, answer)
                return answer

            if shared is not None:
                shared.add("task", task)
            tools, described = worker_tools(ctx, manager, step.workers, descriptions)
            return await run_agent(
                ctx, step.manager, task, step_id=step.id, usage=usage, extra_tools=tools,
                descriptions=described, max_tool_calls=step.max_delegations + manager.max_tool_calls,
                max_delegations=step.max_delegations, delegate=delegate,
            )

        delta = await run_step(ctx, state, step.id, "supervisor", scope, body, agent=step.manager)
        for team_delta in deltas:
            delta = add_deltas(delta, team_delta)
        return delta

    return node


async def _run_team(graph: Any, last_step: str, state: RunState, task: str, config: RunnableConfig,
                    deltas: list[dict[str, Any]]) -> str:
    """Run a team's steps for one sub-task; its last step's output is the answer.

    What the team's steps wrote is kept even when one of them fails (the failure goes back to the
    manager as the tool's error), so the steps that did finish still count.
    """
    given: dict[str, Any] = {**state, "item": task}
    values = given
    try:
        async for values in graph.astream(given, config, stream_mode="values"):  # noqa: B007
            pass
    except Exception as exc:
        deltas.append(add_deltas(state_delta(state, values), spent_by_failed_step(exc)))
        raise
    deltas.append(state_delta(state, values))
    return to_text((values.get("outputs") or {}).get(last_step))


def compile_step(b: Builder, step: SupervisorStep, scope: Scope) -> Piece:
    team_scope = scope.inside(step.id, item_name="task")
    teams = {team.name: b.subgraph(team.steps, team_scope, f"{step.id}#{team.name}", checkpointer=False)
             for team in step.teams}
    b.graph.add_node(step.id, supervisor_node(b.ctx, step, scope, teams))
    return Piece(step.id, step.id)
