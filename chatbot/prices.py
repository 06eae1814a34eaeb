"""Model prices from the price map LiteLLM ships, read as JSON without importing LiteLLM.

Importing litellm costs seconds; the estimate only needs two numbers per model, so the bundled
`model_prices_and_context_window_backup.json` is read directly (once, cached: it is read-only data).
Local providers (Ollama, the offline model) cost nothing; anything else not in the map is unpriced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.model_catalog import bundled_price_map

_LOCAL_PREFIXES = ("ollama/", "ollama_chat/", "offline/", "lm_studio/", "llamafile/")


@dataclass(frozen=True)
class Price:
    """US dollars per token; `known` is False for a model the price map does not list."""

    input: float
    output: float
    known: bool = True
    context_window: int | None = None


def _price_map() -> Mapping[str, Any]:
    return bundled_price_map()  # one parse per process, shared with re-pricing (`history.prices`)


def price_of(model: str) -> Price:
    """The price of a LiteLLM model string; local models are free, unknown ones unpriced."""
    if model.startswith(_LOCAL_PREFIXES) or model == "offline":
        return Price(0.0, 0.0)
    prices = _price_map()
    for key in (model, model.split("/", 1)[-1]):
        entry = prices.get(key)
        if isinstance(entry, Mapping) and "input_cost_per_token" in entry:
            return Price(
                float(entry.get("input_cost_per_token") or 0.0),
                float(entry.get("output_cost_per_token") or 0.0),
                context_window=entry.get("max_input_tokens"),
            )
    return Price(0.0, 0.0, known=False)
