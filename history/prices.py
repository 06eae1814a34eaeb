"""LiteLLM's local price map as typed per-token prices, read without importing LiteLLM.

LiteLLM ships its map as a JSON file inside the package (`LITELLM_LOCAL_MODEL_COST_MAP=True`
makes LiteLLM itself use the same file). Reading it directly costs ~50 ms instead of LiteLLM's
~3 s import, keeps the CLI light, and gives SQL a `model_prices` table. Prices follow LiteLLM's
`cost_per_token` for text calls: a prompt above a tier's threshold (e.g. `..._above_200k_tokens`)
bills every input and output token at that tier's rates. A model priced otherwise (per second,
per image, per character) has no per-token price here: it is *unpriced*, named, never costed as 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.offline_model import is_offline
from orchestrator.pricing import LOCAL_PROVIDERS
from schemas.model_catalog import bundled_price_map

_TIER = re.compile(r"^input_cost_per_token_above_(\d+)(k?)_tokens$")


@dataclass(frozen=True)
class Price:
    """Dollars per token of one model; `tier_tokens`: above this many prompt tokens, the tier rates."""

    model: str  # the map's key
    provider: str
    input: float
    output: float
    cache_read: float | None = None
    tier_tokens: int | None = None
    tier_input: float | None = None
    tier_output: float | None = None

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        if self.tier_tokens is not None and tokens_in > self.tier_tokens:
            return tokens_in * (self.tier_input or self.input) + tokens_out * (self.tier_output or self.output)
        return tokens_in * self.input + tokens_out * self.output


def price_map() -> Mapping[str, Any]:
    """The bundled map (model -> its entry), or {} when LiteLLM is not installed."""
    return bundled_price_map()


def _price(key: str, entry: Any) -> Price | None:
    if not isinstance(entry, Mapping) or key == "sample_spec":
        return None
    base_in, base_out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not isinstance(base_in, int | float) or not isinstance(base_out, int | float):
        return None
    tiers = sorted((int(m[1]) * (1000 if m[2] else 1), k) for k in entry if (m := _TIER.match(k)))
    tier_tokens = tier_in = tier_out = None
    if tiers:
        tier_tokens, key_in = tiers[0]
        tier_in = entry.get(key_in)
        tier_out = entry.get(key_in.replace("input_cost", "output_cost"))
    return Price(key, str(entry.get("litellm_provider", "")), float(base_in), float(base_out),
                 entry.get("cache_read_input_token_cost"), tier_tokens, tier_in, tier_out)


def price_of(model: str) -> Price | None:
    """The per-token price of a LiteLLM model string (`openai/gpt-4o`, `gpt-4o`), None when unpriced.

    Models that run on this machine (Ollama, the offline model) are priced, at 0, as in the ledger.
    """
    if is_offline(model) or model.split("/", 1)[0] in LOCAL_PROVIDERS:
        return Price(model, model.split("/", 1)[0], 0.0, 0.0)
    table = price_map()
    for key in (model, model.split("/", 1)[1] if "/" in model else None):
        if key is not None and key in table:
            price = _price(key, table[key])
            if price is not None:
                return price
    return None


PRICE_COLUMNS = ("model", "provider", "input_cost_per_token", "output_cost_per_token",
                 "cache_read_input_token_cost", "tier_above_tokens", "tier_input_cost_per_token",
                 "tier_output_cost_per_token")  # fmt: skip


def price_rows() -> list[tuple[Any, ...]]:
    """Every per-token-priced model of the map, one row each in `PRICE_COLUMNS` order (SQL's `model_prices`)."""
    rows = []
    for key, entry in price_map().items():
        p = _price(key, entry)
        if p is not None:
            rows.append((p.model, p.provider, p.input, p.output, p.cache_read, p.tier_tokens, p.tier_input,
                         p.tier_output))
    return rows
