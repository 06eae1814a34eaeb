"""Token counts and dollar cost of a call, from LiteLLM's bundled (local) price map.

A model missing from the map costs 0 and is flagged `unpriced` — dashboards say so rather than
the run crashing. When a provider reports no usage we count tokens ourselves.
"""

from __future__ import annotations

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


def count_prompt_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    import litellm

    try:
        return int(litellm.token_counter(model=model, messages=messages))
    except Exception:
        return sum(len(str(m.get("content") or "").split()) + 4 for m in messages)


def count_text_tokens(model: str, text: str) -> int:
    if not text:
        return 0
    import litellm

    try:
        return int(litellm.token_counter(model=model, text=text))
    except Exception:
        return len(text.split())
