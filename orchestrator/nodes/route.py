"""The `route` step: choose one case by value (`on`), by a model (`classify`) or by expressions.

The start node decides and records the case index; a conditional edge sends the run to that case's
first node (or straight to the end node for an empty default); every case ends at the end node.
"""

from __future__ import annotations

from typing import Any

from orchestrator import events as ev
from orchestrator.llm_types import LLMRequest
from orchestrator.nodes.agent import Node
from orchestrator.nodes.agent_loop import call_model
from orchestrator.nodes.common import RunContext, Scope, Usage, begin_composite, end_composite, fill, holds
from orchestrator.nodes.graph import Builder, Piece, add_composite
from orchestrator.state import RunState
from orchestrator.structured import OutputInvalid, parse_output
from schemas.models import OutputField, RouteStep
from schemas.templates import to_text

DEFAULT = -1


def route_start(ctx: RunContext, step: RouteStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        begin_composite(ctx, state, step.id, "route", scope)
        context = scope.context(state)
        usage = Usage()
        execution = ctx.execution(step.id, state, state.get("item_index"))
        if step.on is not None:
            value = _norm(fill(step.on, context, step.id, raw=True))
            chosen = next((i for i, c in enumerate(step.cases) if _norm(c.when) == value), DEFAULT)
        elif step.classify is not None and ctx.replay is not None and not ctx.replay.replays(step.id, execution):
            label = ctx.replay.branch(step.id, execution)  # the case the source run's classifier chose
            chosen = next((i for i, c in enumerate(step.cases) if c.when == label), DEFAULT)
        elif step.classify is not None:
            chosen = await _classify(ctx, step, context, usage)
        else:
            chosen = next((i for i, c in enumerate(step.cases) if holds(c.when, context, step.id)), DEFAULT)
        return {"routes": {step.id: chosen}, "steps_done": 1, **usage.delta()}

    return node


def route_edge(step: RouteStep, entries: list[str], end_node: str) -> Any:
    def pick(state: RunState) -> str:
        chosen = (state.get("routes") or {}).get(step.id, DEFAULT)
        return entries[chosen] if 0 <= chosen < len(entries) else end_node

    return pick


def route_end(ctx: RunContext, step: RouteStep) -> Node:
    """The route's output is the output of the last step of the case taken (None for an empty case)."""

    async def node(state: RunState) -> dict[str, Any]:
        chosen = (state.get("routes") or {}).get(step.id, DEFAULT)
        taken = step.cases[chosen].steps if 0 <= chosen < len(step.cases) else step.default
        label = step.cases[chosen].when if 0 <= chosen < len(step.cases) else "default"
        output = (state.get("outputs") or {}).get(taken[-1].id) if taken else None
        return end_composite(ctx, step.id, "route", output, branch=label, item_index=state.get("item_index"),
                             execution=ctx.execution(step.id, state, state.get("item_index")))

    return node


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return to_text(value).strip().casefold()


async def _classify(ctx: RunContext, step: RouteStep, context: dict[str, Any], usage: Usage) -> int:
    assert step.classify is not None
    labels = [case.when for case in step.cases]
    fields = {"label": OutputField(type="string", enum=labels, description="The label that fits best.")}
    prompt = fill(step.classify.prompt, context, step.id)
    messages = [
        {"role": "system", "content": "You classify text. Answer with only a JSON object "
         '{"label": ...} whose label is exactly one of: ' + ", ".join(labels) + "."},
        {"role": "user", "content": prompt},
    ]
    from orchestrator.structured import json_schema

    params = ctx.models.get(step.classify.model)
    result = await call_model(ctx, LLMRequest(params, messages, None, json_schema(fields), step.id), usage)
    try:
        label = parse_output(result.text, fields)["label"]
    except OutputInvalid:
        label = result.text.strip().strip('"').strip()
    chosen = next((i for i, c in enumerate(step.cases) if _norm(c.when) == _norm(label)), DEFAULT)
    if chosen == DEFAULT:
        ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step.id,
                            message=f"route `{step.id}`: the classifier answered {label!r}, not one of "
                            f"{labels}; taking `default`"))
    return chosen


def compile_step(b: Builder, step: RouteStep, scope: Scope) -> Piece:
    """`<id>` decides; a conditional edge picks a case (or `<id>#end`); every case ends at `<id>#end`."""
    end = add_composite(b, step.id, route_start(b.ctx, step, scope), route_end(b.ctx, step))
    entries = []
    for case in step.cases:
        piece = b.sequence(case.steps, scope.inside(step.id))
        if piece is None:  # `steps: []`: do nothing and carry on
            entries.append(end)
            continue
        b.graph.add_edge(piece.exit, end)
        entries.append(piece.entry)
    default = b.sequence(step.default, scope.inside(step.id))
    if default is not None:
        b.graph.add_edge(default.exit, end)
    target = default.entry if default is not None else end
    b.graph.add_conditional_edges(step.id, route_edge(step, entries, target), sorted({*entries, target}))
    return Piece(step.id, end)
