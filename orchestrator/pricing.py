"""Token counts and dollar cost of a call, from LiteLLM's bundled (local) price map.

A model missing from the map costs 0 and is flagged `unpriced` — dashboards say so rather than
the run crashing. When a provider reports no usage we count tokens ourselves.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.offline_model import is_offline

LOCAL_PROVIDERS = frozenset({"ollama", "ollama_chat", "offline"})
# Providers for which LiteLLM answers a price of 0 for any model it has no price for (it assumes a
# free self-hosted endpoint); Inference Providers bill per token, so such a model is unpriced here.
ZERO_WHEN_UNKNOWN = frozenset({"huggingface"})


@dataclass(frozen=True)
class Cost:
    usd: float
    unpriced: bool


def cost_of(model: str, tokens_in: int, tokens_out: int) -> Cost:
    """Dollar cost of `tokens_in`/`tokens_out` on `model`; unknown models cost 0, `unpriced=True`."""
    if is_offline(model) or model.split("/", 1)[0] in LOCAL_PROVIDERS:
        return Cost(0.0, False)  # runs on this machine: free, and known to be
    rates = _rates(model)
    if rates is _UNPRICED:
        return Cost(0.0, True)
    if rates is _TIERED:
        return _litellm_cost(model, tokens_in, tokens_out)
    per_in, per_out = rates  # type: ignore[misc]
    return Cost(tokens_in * per_in + tokens_out * per_out, False)


_UNPRICED, _TIERED = object(), object()
_PROBES = (1_000, 150_000, 250_000, 1_100_000)  # beyond the usual tiers' thresholds (128k, 200k, 1M)


@functools.lru_cache(maxsize=512)
def _rates(model: str) -> tuple[float, float] | object:
    """`model`'s price per input and per output token, looked up once: LiteLLM's lookup costs ~0.2 ms a
    call. Models whose price is not one rate per token (tiers above some context size) are `_TIERED`:
    LiteLLM prices each of their calls."""
    one_in, one_out = _litellm_cost(model, 1, 0), _litellm_cost(model, 0, 1)
    if one_in.unpriced or one_out.unpriced:
        return _UNPRICED
    for n in _PROBES:
        if not math.isclose(_litellm_cost(model, n, n).usd, n * one_in.usd + n * one_out.usd, rel_tol=1e-9):
            return _TIERED
    return one_in.usd, one_out.usd


def _litellm_cost(model: str, tokens_in: int, tokens_out: int) -> Cost:
    import litellm

    provider, _, bare = model.partition("/")
    if provider in ZERO_WHEN_UNKNOWN and model not in litellm.model_cost and bare not in litellm.model_cost:
        return Cost(0.0, True)
    try:
        prompt, completion = litellm.cost_per_token(model=model, prompt_tokens=tokens_in,
                                                    completion_tokens=tokens_out)
    except Exception:  # ModelNotMappedError and friends: an unknown price is not an error
        return Cost(0.0, True)
    return Cost(float(prompt) + float(completion), False)


_COUNTING = threading.Lock()


@contextlib.contextmanager
def _litellm_counting() -> Iterator[Any]:
    """LiteLLM with its token counter on, for our own counts only.

    `load_litellm` turns LiteLLM's counter off (`disable_token_counter`): LiteLLM otherwise counts
    every streamed call's prompt to price a response it has no usage for yet, which loads a tokenizer
    (≈40 MB, ≈0.15 s) and costs CPU per call, for a figure we never read (usage and cost are ours).
    The flag is process-wide: it is on only while we count, one counter at a time, and a LiteLLM-internal
    count that happens meanwhile only does what it did before.
    """
    import litellm

    with _COUNTING:
        was = litellm.disable_token_counter
        litellm.disable_token_counter = False
        try:
            yield litellm
        finally:
            litellm.disable_token_counter = was


def count_prompt_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    try:
        with _litellm_counting() as litellm:
            return int(litellm.token_counter(model=model, messages=messages))
    except Exception:
        return sum(len(str(m.get("content") or "").split()) + 4 for m in messages)


def count_text_tokens(model: str, text: str) -> int:
    if not text:
        return 0
    try:
        with _litellm_counting() as litellm:
            return int(litellm.token_counter(model=model, text=text))
    except Exception:
        return len(text.split())
