"""The `parallel` step: a start node fans out to every branch; a barrier node joins them.

The branches' first nodes are all triggered by the start node, so LangGraph runs them in the same
superstep, concurrently; the end node waits for every branch's last node (a named barrier).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator.nodes.agent import Node
from orchestrator.nodes.common import COUNTERS, RunContext, Scope, begin_composite, end_composite
from orchestrator.nodes.graph import Builder, Piece, add_composite
from orchestrator.state import RunState
from schemas.models import ParallelStep


def parallel_start(ctx: RunContext, step: ParallelStep, scope: Scope) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        begin_composite(ctx, state, step.id, "parallel", scope)
        return {"steps_done": 1}

    return node


def parallel_end(ctx: RunContext, step: ParallelStep) -> Node:
    async def node(state: RunState) -> dict[str, Any]:
        outputs = state.get("outputs") or {}
        result = {branch.id: outputs.get(branch.id) for branch in step.branches}
        return end_composite(ctx, step.id, "parallel", result, item_index=state.get("item_index"))

    return node


_MERGED = ("outputs", "map_slots", "map_items", "loops", "loop_rounds", "routes")


def branch_node(subgraph: Any) -> Any:
    """Run a composite branch's subgraph and return only what it changed.

    Returning the subgraph's whole state would add the counters twice and could overwrite a
    sibling's fresh writes with this branch's stale copy; step ids are unique, so the changed keys
    are exactly this branch's own writes.
    """

    async def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        return state_delta(state, await subgraph.ainvoke(state, config))

    return node


def state_delta(state: RunState, final: dict[str, Any]) -> dict[str, Any]:
    """What a subgraph run from `state` to `final` wrote: its own outputs, counters and ledger."""
    delta: dict[str, Any] = {}
    for channel in _MERGED:
        before, after = state.get(channel) or {}, final.get(channel) or {}
        changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
        if changed:
            delta[channel] = changed
    for counter in COUNTERS:
        delta[counter] = (final.get(counter) or 0) - (state.get(counter) or 0)
    delta["accounted"] = (final.get("accounted") or [])[len(state.get("accounted") or []):]
    return delta


def add_deltas(total: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Two state deltas as one: dicts merged (newer wins), counters added, ledgers joined."""
    out = dict(total)
    for key, value in delta.items():
        if key in _MERGED:
            out[key] = {**(out.get(key) or {}), **value}
        elif key == "accounted":
            out[key] = [*(out.get(key) or []), *value]
        else:
            out[key] = (out.get(key) or 0) + value
    return out


def compile_step(b: Builder, step: ParallelStep, scope: Scope) -> Piece:
    """`<id>` fans out by edges to each branch; the branches' exits meet at `<id>#end` (a barrier)."""
    end = add_composite(b, step.id, parallel_start(b.ctx, step, scope), parallel_end(b.ctx, step))
    exits = []
    for branch in step.branches:
        piece = b.branch(branch, scope.inside(step.id))
        b.graph.add_edge(step.id, piece.entry)
        exits.append(piece.exit)
    b.graph.add_edge(exits, end)
    return Piece(step.id, end)
