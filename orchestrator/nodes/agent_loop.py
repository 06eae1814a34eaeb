"""One agent answering one prompt: model calls, the tool loop, and the structured-output repair.

Shared by agent steps, map items, supervisors (whose workers are offered as tools) and
agent-as-tool. Every call is preceded by the budget check; every attempt becomes an `LLMCall` event
and the streamed pieces `Token` events (joined: see `token_stream`), both tagged with the step they belong to.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from orchestrator import events as ev
from orchestrator.context_window import Overflow, fit
from orchestrator.errors import StepFailed
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams, ToolCallRequest
from orchestrator.nodes.common import RunContext, Usage
from orchestrator.structured import (
    OutputInvalid,
    format_instructions,
    json_schema,
    parse_output,
    repair_message,
)
from orchestrator.token_stream import TokenCoalescer
from orchestrator.tool_journal import CURRENT_JOURNAL
from orchestrator.tools.registry import AgentRunner, ToolBox, ToolOutcome
from schemas.models import Agent, AgentTool, OutputField, Tool
from schemas.templates import to_text

TOOL_RESULT_CHARS = 20_000


def system_prompt(agent: Agent) -> str:
    parts = [f"You are {agent.role}."]
    if agent.goal:
        parts.append(f"Your goal: {agent.goal}")
    if agent.instructions:
        parts.append(agent.instructions)
    if agent.output:
        parts.append(format_instructions(agent.output))
    return "\n\n".join(parts)


async def fit_window(ctx: RunContext, request: LLMRequest, usage: Usage, overflow: Overflow) -> LLMRequest:
    """`request` shortened (or refused) as `overflow` says when it outgrows the model's window."""
    step_id = request.step_id
    return await fit(request, overflow, lambda r: call_model(ctx, r, usage),
                     lambda note: ctx.warn_once(note, step_id))


async def call_model(ctx: RunContext, request: LLMRequest, usage: Usage) -> LLMResult:
    """The context-window and budget checks, then one model call through the seam with its events."""
    step_id = request.step_id
    request = await fit_window(ctx, request, usage, Overflow())
    ctx.budget.before_call(request.messages, step_id)

    tokens = TokenCoalescer(lambda text: ctx.emit(ev.Token(run_id=ctx.run_id, step_id=step_id, text=text)))

    def on_attempt(call: Any) -> None:
        tokens.flush()  # an attempt's text comes before its `LLMCall` (a failed one tells to drop it)
        usage.calls.append(ctx.emit(call.model_copy(update={"run_id": ctx.run_id, "step_id": step_id})).seq)

    try:
        result = await ctx.client.complete(request, tokens.add, on_attempt)
    finally:
        tokens.flush()
    ctx.budget.add_usage(result.tokens_in, result.tokens_out, result.cost_usd)
    usage.add(result)
    return result


def toolbox_for(ctx: RunContext, agent: Agent, depth: int, extra: dict[str, Tool] | None = None,
                descriptions: dict[str, str] | None = None) -> ToolBox:
    tools: dict[str, Tool] = {name: ctx.workflow.tools[name] for name in agent.tools if name in ctx.workflow.tools}
    tools.update(extra or {})
    return ToolBox(tools=tools, policy=ctx.policy, depth=depth, descriptions=descriptions or {},
                   run_agent=None, secrets=ctx.secrets)


async def run_agent(
    ctx: RunContext,
    agent_name: str,
    prompt: str,
    *,
    step_id: str,
    usage: Usage,
    depth: int = 0,
    extra_tools: dict[str, Tool] | None = None,
    descriptions: dict[str, str] | None = None,
    max_tool_calls: int | None = None,
    max_delegations: int | None = None,
    sources: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    delegate: AgentRunner | None = None,
) -> Any:
    """The agent's answer: text, or a validated dict when it declares `output` fields.

    `sources`: the text each template reference put into `prompt`, so an overflow names (and
    shortens) inputs rather than the prompt as a whole. `settings`: the step's own model, output and
    parameters, which override the agent's.
    `delegate` (a supervisor's) answers its agent tools instead of running the named agent plainly.
    """
    agent, params = _with_settings(ctx, ctx.workflow.agents[agent_name], settings or {})
    overflow = Overflow(agent.on_overflow, agent_name, sources=dict(sources or {}),
                        summary=ctx.models.get(agent.summary_model) if agent.on_overflow == "summarise" else None)
    box = toolbox_for(ctx, agent, depth, extra_tools, descriptions)

    async def as_tool(name: str, task: str, inner_depth: int) -> str:
        answer = await run_agent(ctx, name, task, step_id=step_id, usage=usage, depth=inner_depth)
        return to_text(answer)

    box.run_agent = delegate or as_tool
    box.delegation_limit = max_delegations
    limit = agent.max_tool_calls if max_tool_calls is None else max_tool_calls
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(agent)},
        {"role": "user", "content": prompt},
    ]
    schema = json_schema(agent.output) if agent.output else None
    used = 0
    while True:
        offer = box.specs() if box.tools and used < limit else None
        request = await fit_window(ctx, LLMRequest(params, list(messages), offer, schema, step_id), usage,
                                   overflow)
        messages = list(request.messages)  # shortened inputs stay short for the rest of the step
        result = await call_model(ctx, request, usage)
        if not (result.tool_calls and offer):
            break
        messages.append(_assistant_with_calls(result))
        outcomes = await _run_tools(ctx, box, result.tool_calls, step_id, limit - used, usage)
        used += min(len(result.tool_calls), limit - used)
        for call, outcome in zip(result.tool_calls, outcomes, strict=True):
            messages.append({"role": "tool", "tool_call_id": call.id, "content": outcome.text[:TOOL_RESULT_CHARS]})
    if not agent.output:
        return result.text
    return await _structured(ctx, params, messages, result, agent.output, step_id, usage, agent_name)


def _with_settings(ctx: RunContext, agent: Agent, settings: dict[str, Any]) -> tuple[Agent, ModelParams]:
    """The agent as this step runs it, and its call parameters."""
    own = {k: v for k, v in settings.items() if k in ("model", "output")}
    if own:
        agent = agent.model_copy(update=own)
    params = ctx.models.get(agent.model)
    tuned = {k: v for k, v in settings.items() if k in ("temperature", "max_tokens")}
    return agent, dataclasses.replace(params, **tuned) if tuned else params


def _assistant_with_calls(result: LLMResult) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": result.text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ],
    }


async def _run_tools(ctx: RunContext, box: ToolBox, calls: list[ToolCallRequest], step_id: str,
                     allowed: int, usage: Usage) -> list[ToolOutcome]:
    """Run this turn's tool calls concurrently; calls beyond the step's allowance are refused."""

    async def one(index: int, call: ToolCallRequest) -> ToolOutcome:
        ctx.emit(ev.ToolCall(run_id=ctx.run_id, step_id=step_id, tool=call.name, call_id=call.id,
                             arguments=box.parse_arguments(call.arguments)))
        if index >= allowed:
            outcome = ToolOutcome(False, "error: the tool-call limit of this step is reached; answer now")
        else:
            outcome = await _journaled(ctx, box, call, step_id, usage)
        ctx.emit(ev.ToolResult(run_id=ctx.run_id, step_id=step_id, tool=call.name, call_id=call.id,
                               ok=outcome.ok, result=outcome.text[:TOOL_RESULT_CHARS]))
        return outcome

    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(calls))))


async def _journaled(ctx: RunContext, box: ToolBox, call: ToolCallRequest, step_id: str,
                     usage: Usage) -> ToolOutcome:
    """Run a tool call at most once per step execution, even across a crash (see `tool_journal`).

    The key names the execution (loop iterations, map item), not just the step: a later iteration
    making the same call runs it, while the same execution re-run after a crash replays it.
    """
    journal = CURRENT_JOURNAL.get()
    if journal is None:
        return await box.call(call.name, call.arguments)
    key = journal.key(step_id, call.name, call.arguments, usage.execution)
    recorded = journal.replay(ctx.run_id, key)
    if recorded is not None:
        return ToolOutcome(*recorded)
    journal.begin(ctx.run_id, key)
    outcome = await box.call(call.name, call.arguments)
    journal.end(ctx.run_id, key, outcome.ok, outcome.text)
    return outcome


async def _structured(ctx: RunContext, params: ModelParams, messages: list[dict[str, Any]],
                      result: LLMResult, fields: dict[str, OutputField], step_id: str, usage: Usage,
                      agent_name: str) -> dict[str, Any]:
    """Parse and validate; on failure, one repair call with the error fed back, then fail."""
    try:
        return parse_output(result.text, fields)
    except OutputInvalid as first:
        ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step_id,
                            message=f"agent `{agent_name}` answered with invalid JSON ({first}); asking it to fix it"))
        repair = [*messages, {"role": "assistant", "content": result.text},
                  {"role": "user", "content": repair_message(first, fields)}]
        second = await call_model(ctx, LLMRequest(params, repair, None, json_schema(fields), step_id), usage)
        try:
            return parse_output(second.text, fields)
        except OutputInvalid as final:
            raise StepFailed(
                f"step `{step_id}`: agent `{agent_name}` did not produce the declared output fields "
                f"({', '.join(fields)}) even after one repair attempt: {final}. Simplify the fields, "
                "describe them better, or use a stronger model.",
                step_id=step_id,
            ) from None


def worker_tools(ctx: RunContext, manager: Agent, workers: list[str],
                 teams: dict[str, str] | None = None) -> tuple[dict[str, Tool], dict[str, str]]:
    """Each worker (and team: name -> description) offered to a supervisor's manager as an agent
    tool, named after it."""
    tools: dict[str, Tool] = {}
    descriptions: dict[str, str] = {}
    for worker in [*workers, *(teams or {})]:
        name = worker if worker not in manager.tools else f"agent_{worker}"[:64]
        tools[name] = AgentTool(type="agent", agent=worker)
        if teams and worker in teams:
            what = f"the `{worker}` team" + (f" ({teams[worker]})" if teams[worker] else "")
        else:
            spec = ctx.workflow.agents[worker]
            what = spec.role + (f" (goal: {spec.goal})" if spec.goal else "")
        descriptions[name] = f"Delegate a sub-task to {what}. Give the complete task with all context it needs."
    return tools, descriptions
