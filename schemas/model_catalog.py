"""Which model names LiteLLM knows, read from its bundled price map (no litellm import: ~3 s).

Unknown names are only a warning: new models appear faster than the map is updated, and local
servers accept anything.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from schemas.suggest import did_you_mean

_PRICE_MAP = "model_prices_and_context_window_backup.json"
LOCAL_PROVIDERS = ("ollama_chat/", "ollama/", "offline/", "lm_studio/", "llamafile/")


@lru_cache(maxsize=1)
def known_models() -> frozenset[str]:
    """Names in LiteLLM's bundled price map; empty when litellm is not installed."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / _PRICE_MAP
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(k for k in data if k != "sample_spec")


def is_known_model(name: str) -> bool:
    """A model LiteLLM prices, a local provider, or the offline model."""
    if name == "offline" or name.startswith(LOCAL_PROVIDERS):
        return True
    names = known_models()
    if not names:
        return True  # no catalogue to judge by: do not warn about everything
    if name in names:
        return True
    _, _, rest = name.partition("/")
    return bool(rest) and rest in names


def model_hint(name: str) -> str | None:
    """A did-you-mean among known model names, for the unknown-model warning."""
    names = known_models()
    prefix = name.split("/", 1)[0] + "/" if "/" in name else ""
    same_provider = (
        [n for n in names if n.startswith(prefix)] if prefix else [n for n in names if "/" not in n]
    )
    return did_you_mean(name, same_provider or names, list_up_to=0)
