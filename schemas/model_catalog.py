"""Which model names LiteLLM knows, read from its bundled price map (no litellm import: ~3 s).

Unknown names are only a warning: new models appear faster than the map is updated, and local
servers accept anything.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from schemas.suggest import did_you_mean

_PRICE_MAP = "model_prices_and_context_window_backup.json"
LOCAL_PROVIDERS = ("ollama_chat/", "ollama/", "offline/", "lm_studio/", "llamafile/")


@lru_cache(maxsize=1)
def known_models() -> frozenset[str]:
    """Names in LiteLLM's bundled price map; empty when litellm is not installed.

    The map (3 MB of JSON) is parsed once per process where possible: from LiteLLM's own copy when
    LiteLLM is imported, or being imported (the CLI starts that early for `run`: this waits for it),
    else from the file, without importing LiteLLM (seconds).
    """
    if "litellm" in sys.modules:
        try:
            import litellm  # waits while another thread is importing it

            return frozenset(k for k in litellm.model_cost if k != "sample_spec")
        except Exception:  # noqa: S110  that import failed: read the file
            pass
    return frozenset(k for k in read_price_file() if k != "sample_spec")  # the names only: the map is not kept


def read_price_file() -> dict[str, Any]:
    """LiteLLM's bundled price map as it ships (model -> entry), parsed now; {} without LiteLLM."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / _PRICE_MAP
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@lru_cache(maxsize=1)
def bundled_price_map() -> Mapping[str, Any]:
    """The same map, parsed once per process for readers of prices (the estimate, re-pricing).

    When LiteLLM is already imported, its own copy of the map as loaded (`loaded_model_cost_map`:
    not `litellm.model_cost`, where the engine registers prices of its own), so a process running
    both (the app) does not hold the 3 MB map parsed twice (≈20 MB); else the file, parsed now.
    Entries are read-only mappings then: readers check for `Mapping`, not `dict`.
    """
    if "litellm" in sys.modules:
        try:
            from litellm.litellm_core_utils.get_model_cost_map import GetModelCostMap

            loaded = GetModelCostMap.loaded_model_cost_map()
            if loaded:
                return loaded
        except Exception:  # noqa: S110  a LiteLLM without it (or mid-import): read the file
            pass
    return read_price_file()


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
    """A did-you-mean among known model names, keeping the provider prefix the user wrote."""
    names = known_models()
    prefix, _, rest = name.rpartition("/") if "/" in name else ("", "", name)
    bare = [n for n in names if "/" not in n]
    prefixed = [n[len(prefix) + 1 :] for n in names if prefix and n.startswith(prefix + "/")]
    hint = did_you_mean(rest, bare + prefixed, list_up_to=0)
    if hint is None or not prefix:
        return hint
    return hint.replace("`", f"`{prefix}/", 1)
