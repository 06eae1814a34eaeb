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
        known = self.by_day["actual_usd"].dropna() if not self.by_day.empty else pd.Series(dtype=float)
        return float(known.sum()) if len(known) else None  # no priced call: unknown, not 0

    @property
    def alternative_usd(self) -> float:
        return float(self.by_day["alternative_usd"].sum()) if not self.by_day.empty else 0.0


# One scan: calls grouped by what pricing needs (day, step, model, whether the prompt is above the
# alternative's tier); the few thousand groups are then priced and rolled up in pandas.
_GROUPS = """
SELECT t.ts::DATE AS day, t.workflow, coalesce(t.step_id, '') AS step_id, t.model, t.unpriced,
       t.tokens_in > ? AS above, count(*) AS calls, sum(t.tokens_in)::BIGINT AS tokens_in,
       sum(t.tokens_out)::BIGINT AS tokens_out, sum(t.cost_usd) AS cost
FROM llm_calls t {where} GROUP BY ALL
"""


def reprice(cur: Cursor, filters: Filters, model: str) -> Repricing:
    """Actual vs `model` per day and per step over the calls `filters` selects (the owner's only)."""
    price = price_of(model)
    if price is None:
        raise Unpriced(f"`{model}` has no per-token price in LiteLLM's price map, so nothing can be computed "
                       "for it; pick a priced model (e.g. openai/gpt-4o-mini) or check the spelling")
    where, params = _where(filters, "calls")
    tier = price.tier_tokens if price.tier_tokens is not None else 2**62
    groups = cur.execute(_GROUPS.format(where=where), [tier, *params]).df()
    above = groups["above"].astype(bool)
    tier_in = price.tier_input if price.tier_input is not None else price.input
    tier_out = price.tier_output if price.tier_output is not None else price.output
    groups["alternative_usd"] = (groups["tokens_in"] * above.map({True: tier_in, False: price.input}).astype(float)
                                 + groups["tokens_out"] * above.map({True: tier_out, False: price.output}).astype(float))
    unpriced = groups["unpriced"].astype(bool)
    groups["priced_cost"] = groups["cost"].where(~unpriced, 0.0)
    groups["priced_calls"] = groups["calls"].where(~unpriced, 0)
    groups["unpriced_calls"] = groups["calls"].where(unpriced, 0)
    groups["day"] = pd.to_datetime(groups["day"]).dt.strftime("%Y-%m-%d")
    by_day = _roll(groups, ["day"]).sort_values("day", ignore_index=True)
    by_step = _roll(groups, ["workflow", "step_id"])
    by_step = by_step.sort_values(["actual_usd", "workflow", "step_id"], ascending=[False, True, True],
                                  na_position="last", ignore_index=True)
    names = groups[unpriced].groupby("model")["calls"].sum()
    return Repricing(model, price, by_day, by_step, {str(k): int(v) for k, v in names.sort_index().items()})


def _roll(groups: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum the priced groups under `keys`; a key with no priced call has an unknown (NaN) actual cost."""
    sums = {"calls": "sum", "tokens_in": "sum", "tokens_out": "sum", "priced_cost": "sum", "priced_calls": "sum",
            "alternative_usd": "sum", "unpriced_calls": "sum"}
    out = groups.groupby(keys, as_index=False).agg(sums)
    if "step_id" in keys:
        models = groups.groupby(keys)["model"].agg(lambda m: ", ".join(sorted(set(m)))).rename("models")
        out = out.merge(models.reset_index(), on=keys)
    out["actual_usd"] = out["priced_cost"].where(out["priced_calls"] > 0)
    columns = [*keys, *(["models"] if "step_id" in keys else []), "calls", "tokens_in", "tokens_out", "actual_usd",
               "alternative_usd", "unpriced_calls"]
    return out[columns]
