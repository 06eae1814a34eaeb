"""A replay beside its source run: each re-run step execution before and after.

The replay run's rows that were computed (not served) are matched to the source run's rows of the
same execution (step, loop rounds, map item); tokens, cost and latency come from the `steps` rows,
a route's from its model calls (its choice is its output). The diff is a unified text diff.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from history.queries import Cursor

_COMPOSITE = ("loop", "map", "parallel")

_SQL = """
WITH calls AS (
    SELECT step_id, sum(tokens_in) AS tin, sum(tokens_out) AS tout, sum(cost_usd) AS cost,
           sum(latency_s) AS latency, any_value(model) AS model, bool_or(unpriced) AS unpriced
    FROM llm_calls WHERE run_id = ? AND NOT superseded AND error IS NULL GROUP BY step_id
)
SELECT s.step_id, s.step_type, s.execution, s.iteration, s.item_index,
       coalesce(s.model, c.model), CASE WHEN s.step_type = 'route' THEN c.tin ELSE s.tokens_in END,
       CASE WHEN s.step_type = 'route' THEN c.tout ELSE s.tokens_out END,
       CASE WHEN s.step_type = 'route' THEN c.cost ELSE s.cost_usd END, s.duration_s,
       CASE WHEN s.step_type = 'route' THEN to_json(s.branch)::VARCHAR ELSE s.output END, s.status, s.error, s.served,
       coalesce(c.unpriced, false)
FROM steps s LEFT JOIN calls c ON c.step_id = s.step_id
WHERE s.run_id = ? AND NOT s.superseded ORDER BY s.seq
"""


@dataclass(frozen=True)
class Side:
    model: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float
    output: str
    status: str
    error: str | None = None
    unpriced: bool = False  # its model has no known price: the cost is unknown, not 0

    @property
    def cost_text(self) -> str:
        return "unpriced" if self.unpriced else f"${self.cost_usd:.6f}"


@dataclass(frozen=True)
class StepComparison:
    step_id: str
    where: str  # "round 2", "item 0", "" (a step outside loops and maps)
    before: Side | None  # None: the source run never ran this execution
    after: Side

    @property
    def diff(self) -> str:
        before = self.before.output if self.before else ""
        lines = difflib.unified_diff(before.splitlines(), self.after.output.splitlines(), "before", "after",
                                     lineterm="", n=1)
        return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    source_run_id: str
    run_id: str
    steps: list[StepComparison]
    cost_before: float  # the whole source run
    cost_after: float  # the whole replay (only what ran again costs anything)


def compare(cur: Cursor, run_id: str, owner: str) -> Comparison:
    """The replay `run_id` (one of `owner`'s) beside its source run."""
    row = cur.execute("SELECT source_run_id, cost_usd FROM runs WHERE run_id = ? AND owner = ?",
                      [run_id, owner]).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"no replay `{run_id}` among your runs")
    source = row[0]
    before_cost = cur.execute("SELECT cost_usd FROM runs WHERE run_id = ?", [source]).fetchone()
    before = {(r[0], r[2]): r for r in cur.execute(_SQL, [source, source]).fetchall()}
    steps = []
    for r in cur.execute(_SQL, [run_id, run_id]).fetchall():
        if r[13] or r[1] in _COMPOSITE or (r[1] == "route" and r[6] is None):  # served, or called no model
            continue
        old = before.get((r[0], r[2]))
        steps.append(StepComparison(r[0], _where(r[3], r[4]), _side(old) if old else None, _side(r)))
    return Comparison(source, run_id, steps, float(before_cost[0]) if before_cost else 0.0, float(row[1]))


def _where(iteration: int | None, item: int | None) -> str:
    parts = [f"round {iteration}"] if iteration is not None else []
    return ", ".join([*parts, *([f"item {item}"] if item is not None else [])])


def _side(r: tuple[Any, ...]) -> Side:
    return Side(model=r[5], tokens_in=int(r[6] or 0), tokens_out=int(r[7] or 0), cost_usd=float(r[8] or 0.0),
                latency_s=float(r[9] or 0.0), output=_text(r[10]), status=r[11], error=r[12], unpriced=bool(r[14]))


def _text(stored: str | None) -> str:
    """The output as people read it: text as is, structured output as indented JSON."""
    if stored is None:
        return ""
    value = json.loads(stored)
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
