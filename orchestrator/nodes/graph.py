"""What a step kind's `compile` hook gets: the graph under construction and ways to nest steps.

Each `orchestrator/nodes/<kind>.py` exposes `compile(builder, step, scope) -> Piece`, registered in
`orchestrator.compiler.COMPILERS`; the builder chains the pieces in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from langgraph.graph import StateGraph

if TYPE_CHECKING:
    from orchestrator.nodes.common import RunContext, Scope
    from schemas.models import Step


@dataclass(frozen=True)
class Piece:
    """A step's piece of graph: the node that starts it and the node its successor follows."""

    entry: str
    exit: str


class Builder(Protocol):
    ctx: RunContext
    graph: StateGraph

    def sequence(self, steps: Sequence[Step], scope: Scope) -> Piece | None: ...
    def branch(self, step: Step, scope: Scope) -> Piece: ...
    def subgraph(self, steps: Sequence[Step], scope: Scope, name: str, *,
                 checkpointer: bool | None = None) -> Any: ...


def add_composite(b: Builder, step_id: str, start: Any, end: Any) -> str:
    """Add a composite step's opening node `<id>` and closing node `<id>#end`; returns the latter."""
    closing = f"{step_id}#end"
    b.graph.add_node(step_id, start)
    b.graph.add_node(closing, end)
    return closing
