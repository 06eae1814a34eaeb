""""What would this have cost on model X": every recorded call re-priced on another model.

Tokens are taken as recorded (prompt and completion; the ledger records no cached-token split, so
none is assumed) and priced with LiteLLM's local map (`history.prices`), per call, so a prompt
above a price tier's threshold is billed at that tier as LiteLLM would. The work is one grouped
query over `llm_calls` (a million calls re-price in well under a second; bench/bench_replay.py).

Unpriced is never 0: a recorded call whose model had no price leaves the actual cost of its group
unknown (NULL, with the count of such calls and the models named), and an alternative model with
no per-token price is refused by name (`Unpriced`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from history.errors import HistoryError
from history.prices import Price, price_of
from history.queries import Cursor, Filters, _where


class Unpriced(HistoryError):
    """The model to compare with has no per-token price in LiteLLM's map."""


@dataclass(frozen=True)
class Repricing:
    model: str  # the alternative, as asked
    price: Price
    by_day: pd.DataFrame  # day ('YYYY-MM-DD'), calls, tokens_in, tokens_out, actual_usd, alternative_usd, unpriced_calls
    by_step: pd.DataFrame  # workflow, step_id, models, calls, tokens..., actual_usd, alternative_usd, unpriced_calls
    unpriced_models: dict[str, int]  # recorded models without a price -> calls (their actual cost is unknown)

    @property
    def actual_usd(self) -> float | None:
        return None if self.by_day.empty else float(self.by_day["actual_usd"].sum())

    @property
    def alternative_usd(self) -> float:
        return float(self.by_day["alternative_usd"].sum()) if not self.by_day.empty else 0.0


_AGG = """
count(*) AS calls, sum(t.tokens_in)::BIGINT AS tokens_in, sum(t.tokens_out)::BIGINT AS tokens_out,
CASE WHEN count(*) FILTER (WHERE NOT t.unpriced) = 0 THEN NULL
     ELSE sum(t.cost_usd) FILTER (WHERE NOT t.unpriced) END AS actual_usd,
sum(CASE WHEN $tier IS NOT NULL AND t.tokens_in > $tier
         THEN t.tokens_in * $tier_in + t.tokens_out * $tier_out
         ELSE t.tokens_in * $inp + t.tokens_out * $out END) AS alternative_usd,
count(*) FILTER (WHERE t.unpriced) AS unpriced_calls
"""


def reprice(cur: Cursor, filters: Filters, model: str) -> Repricing:
    """Actual vs `model` per day and per step over the calls `filters` selects (the owner's only)."""
    price = price_of(model)
    if price is None:
        raise Unpriced(f"`{model}` has no per-token price in LiteLLM's price map, so nothing can be computed "
                       "for it; pick a priced model (e.g. openai/gpt-4o-mini) or check the spelling")
    where, params = _where(filters, "calls")
    named = {"inp": price.input, "out": price.output, "tier": price.tier_tokens,
             "tier_in": price.tier_input if price.tier_input is not None else price.input,
             "tier_out": price.tier_output if price.tier_output is not None else price.output}
    agg = _AGG
    for name, value in sorted(named.items(), key=lambda kv: -len(kv[0])):  # literals: typed, no user text
        agg = agg.replace(f"${name}", "NULL::BIGINT" if value is None else repr(value))
    by_day = _frame(cur, f"SELECT strftime(t.ts, '%Y-%m-%d') AS day, {agg} FROM llm_calls t {where}"
                         " GROUP BY 1 ORDER BY 1", params)
    by_step = _frame(cur, f"SELECT t.workflow, coalesce(t.step_id, '') AS step_id,"
                          f" string_agg(DISTINCT t.model, ', ' ORDER BY t.model) AS models, {agg}"
                          f" FROM llm_calls t {where} GROUP BY 1, 2 ORDER BY actual_usd DESC NULLS LAST, 1, 2",
                     params)
    extra = "AND" if where else "WHERE"
    unpriced = dict(cur.execute(
        f"SELECT t.model, count(*) FROM llm_calls t {where} {extra} t.unpriced GROUP BY 1 ORDER BY 1", params
    ).fetchall())
    return Repricing(model, price, by_day, by_step, unpriced)


def _frame(cur: Cursor, sql: str, params: list[Any]) -> pd.DataFrame:
    return cur.execute(sql, params).df()
