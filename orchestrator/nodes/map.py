"""The `map` step: resolve the list, `Send` one item node per element, gather results in order.

Each item runs the body as a subgraph in its own LangGraph task (real concurrency; the body steps'
events carry the item's `item_index`, which comes with the state), writes its result into a
`map_slots` entry, and the end node assembles the list.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Send

from orchestrator import events as ev
from orchestrator.errors import StepFailed
from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import COUNTERS, RunContext, Scope, begin_composite, end_composite, fill
from orchestrator.nodes.graph import Builder, Piece, add_composite
from orchestrator.state import RunState
from schemas.models import MapStep


def item_node_name(step: MapStep) -> str:
    return f"{step.id}#item"


def map_start(ctx: RunContext, step: MapStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        begin_composite(ctx, state, step.id, "map", scope)
        items = _as_items(fill(step.over, scope.context(state), step.id, raw=True), step.id)
        if len(items) > step.max_items:
            ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step.id,
                                message=f"map `{step.id}` got {len(items)} items; only the first "
                                f"{step.max_items} are processed (raise `max_items` to process more)"))
            items = items[: step.max_items]
        return {"map_items": {step.id: items}, "steps_done": 1}

    return node


def map_fanout(step: MapStep, end_node: str) -> Any:
    """The conditional edge after the start node: one `Send` per item (or straight to the end)."""

    def route(state: RunState) -> list[Send] | str:
        items = (state.get("map_items") or {}).get(step.id) or []
        if not items:
            return end_node
        base = {k: v for k, v in state.items() if k not in ("item", "item_index")}
        return [Send(item_node_name(step), {**base, "item": item, "item_index": i}) for i, item in enumerate(items)]

    return route


def map_item(step: MapStep, body: Any) -> Node:
    """Run one item through the body's subgraph and return only what the map needs from it.

    The body steps write `outputs` inside the subgraph (so `steps.<body step>.output` is this
    item's); those per-item outputs, loop counters and nested slots stay there, since every item
    would write the same keys. The node returns the item's result slot, the counters it added and
    the events it accounted for.
    """
    result = step.result_step()

    async def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        final = await body.ainvoke(state, config)
        index = int(state.get("item_index", 0))
        delta: dict[str, Any] = {"map_slots": {f"{step.id}/{index}": (final.get("outputs") or {}).get(result)}}
        for counter in COUNTERS:
            delta[counter] = (final.get(counter) or 0) - (state.get(counter) or 0)
        delta["accounted"] = (final.get("accounted") or [])[len(state.get("accounted") or []):]
        return delta

    return node


def map_end(ctx: RunContext, step: MapStep) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        items = (state.get("map_items") or {}).get(step.id) or []
        slots = state.get("map_slots") or {}
        result = [slots.get(f"{step.id}/{i}") for i in range(len(items))]
        return end_composite(ctx, step.id, "map", result, item_index=state.get("item_index"))

    return node


def _as_items(value: Any, step_id: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = json.loads(text) if text.startswith("[") else None
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
        lines = [line.strip(" -*\t") for line in text.splitlines()]
        return [line for line in lines if line]
    if isinstance(value, list):
        return value
    raise StepFailed(f"map `{step_id}`: `over` gave {type(value).__name__}, not a list; point it at a list "
                     "such as `{{ steps.plan.output.topics }}`", step_id=step_id)


def compile_step(b: Builder, step: MapStep, scope: Scope) -> Piece:
    """`<id>` resolves the list and `Send`s one `<id>#item` per element (the body as a subgraph);
    `<id>#end` gathers the items' results in order."""
    end = add_composite(b, step.id, map_start(b.ctx, step, scope), map_end(b.ctx, step))
    item = item_node_name(step)
    body = b.subgraph(step.steps, scope.inside(step.id, item_name=step.as_), item)
    b.graph.add_node(item, map_item(step, body))
    b.graph.add_conditional_edges(step.id, map_fanout(step, end), [item, end])
    b.graph.add_edge(item, end)
    return Piece(step.id, end)
