"""Which provider a model string belongs to, and what to use when that provider is not configured.

A config names models like `openai/gpt-4o-mini`; when this session has no key for OpenAI the run
should still work, so the engine substitutes the embedded default (a local Ollama model if one
answers, else the offline synthetic model) and shows the returned reason as a warning.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass

from orchestrator.credentials import (
    KEY_ENV,
    KEYLESS_PROVIDERS,
    OLLAMA_DEFAULT_BASE,
    Credentials,
    base_env_name,
)
from orchestrator.offline_model import MODEL as OFFLINE_MODEL

_BARE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"), ("chatgpt-", "openai"),
    ("text-embedding-", "openai"), ("claude", "anthropic"), ("gemini", "gemini"), ("mistral", "mistral"),
    ("codestral", "mistral"), ("deepseek", "deepseek"), ("command", "cohere"), ("grok", "xai"),
)


@dataclass(frozen=True)
class Resolution:
    """The model to call; `substituted` says it differs from the requested one, `reason` says why."""

    model: str
    substituted: bool = False
    reason: str = ""


def provider_of(model: str) -> str:
    """`openai/gpt-4o-mini` → `openai`; bare well-known names (`gpt-4o`, `claude-…`) are recognised too."""
    if "/" in model:
        return model.split("/", 1)[0]
    lowered = model.lower()
    for prefix, provider in _BARE_PREFIXES:
        if lowered.startswith(prefix):
            return provider
    return ""


_MODEL_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}$")
CHAT_PROVIDERS = frozenset(KEY_ENV) | KEYLESS_PROVIDERS
"""Providers a model chosen in the app may name: those with a known key, local ones, the offline model."""


def model_string_problem(name: str, aliases: Collection[str] = ()) -> str | None:
    """Why `name` may not be chosen as a model in the app or the CLI, or None when it may.

    Accepted: the config's aliases and `provider/model` strings of the providers above. A URL or
    an unknown provider prefix is refused, so a model box can never point LiteLLM at a host.
    """
    if name in aliases:
        return None
    example = f"e.g. 'openai/gpt-4o-mini' or '{OFFLINE_MODEL}'"
    if "//" in name or "\\" in name or not _MODEL_SHAPE.match(name):
        return f"'{name[:80]}' is not a model name (never a URL); use {example}"
    provider = provider_of(name)
    if provider not in CHAT_PROVIDERS:
        known = ", ".join(sorted(CHAT_PROVIDERS))
        if not provider:
            return f"'{name}' names no provider: write it as 'provider/model', {example}"
        return f"'{provider}' is not a provider graphwright calls (known: {known}); use {example}"
    return None


def detect_ollama(timeout: float = 0.3, base_url: str | None = None) -> list[str]:
    """Names of the models a local Ollama serves (`GET /api/tags`); empty when it does not answer.

    `base_url` defaults to `GRAPHWRIGHT_OLLAMA_API_BASE`, else Ollama's usual local address.
    """
    base = base_url or os.environ.get(base_env_name("ollama")) or OLLAMA_DEFAULT_BASE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(f"{base.rstrip('/')}/api/tags", timeout=timeout) as response:
            data = json.loads(response.read().decode())
    except (OSError, ValueError, urllib.error.URLError):
        return []
    return [str(m["name"]) for m in data.get("models", []) if isinstance(m, dict) and m.get("name")]


def embedded_default(ollama_models: list[str]) -> str:
    """A local Ollama model when one is available, else the offline synthetic model."""
    return f"ollama_chat/{ollama_models[0]}" if ollama_models else OFFLINE_MODEL


def _missing(provider: str) -> str:
    names = KEY_ENV.get(provider)
    return f"no {names[0]}" if names else f"no API key for provider '{provider}'"


def resolve_model(model: str, credentials: Credentials, default: str = OFFLINE_MODEL) -> Resolution:
    """`model` itself when its provider is usable with `credentials`, else `default` with a reason.

    Never substitutes when the provider is configured: a real key must reach the real provider.
    """
    provider = provider_of(model)
    if provider in KEYLESS_PROVIDERS or credentials.has(provider):
        return Resolution(model)
    if not provider:
        reason = (f"unknown provider for model '{model}' (write it as 'provider/model', e.g. "
                  f"'openai/gpt-4o-mini'): using {_describe(default)} instead")
    else:
        reason = f"{_missing(provider)}: using {_describe(default)} instead of '{model}'; add a key in Settings"
    return Resolution(default, substituted=True, reason=reason)


def _describe(model: str) -> str:
    if model == OFFLINE_MODEL:
        return "the offline synthetic model"
    if provider_of(model) == "huggingface":
        return f"the Hugging Face Inference Providers model '{model}'"
    return f"the local model '{model}'"
