"""Who may call which provider: API keys and endpoints, per browser session, never in os.environ.

Keys come from the server's environment merged with keys the user typed in this session; they are
passed per call to LiteLLM, so two sessions never see each other's keys. Endpoints (api_base) come
only from code, settings or the environment — never from a YAML config, which is untrusted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

KEY_ENV: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY",),
    "huggingface": ("HF_TOKEN", "HUGGINGFACE_API_KEY"),
})
"""Where each provider's key is found in the environment (first set wins)."""

KEYLESS_PROVIDERS = frozenset({"ollama", "ollama_chat", "offline"})
OLLAMA_DEFAULT_BASE = "http://127.0.0.1:11434"
PLACEHOLDER_KEY = "no-key-needed"  # for OpenAI-compatible local endpoints that ignore the key


def _canonical(provider: str) -> str:
    return "ollama" if provider == "ollama_chat" else provider


def base_env_name(provider: str) -> str:
    """`GRAPHWRIGHT_<PROVIDER>_API_BASE`, the only way besides code to point a provider elsewhere."""
    return f"GRAPHWRIGHT_{_canonical(provider).upper()}_API_BASE"


@dataclass(frozen=True)
class Credentials:
    """Per-provider keys and endpoints for one session; `repr` shows which providers, never keys."""

    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_bases: Mapping[str, str] = field(default_factory=dict, repr=False)
    named: Mapping[str, str] = field(default_factory=dict, repr=False)  # named secrets typed in Settings

    def __post_init__(self) -> None:
        keys = {_canonical(p): k.strip() for p, k in self.keys.items() if k and k.strip()}
        bases = {_canonical(p): b.rstrip("/") for p, b in self.api_bases.items() if b}
        named = {n: v.strip() for n, v in self.named.items() if v and v.strip()}
        object.__setattr__(self, "keys", MappingProxyType(keys))
        object.__setattr__(self, "api_bases", MappingProxyType(bases))
        object.__setattr__(self, "named", MappingProxyType(named))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 session_keys: Mapping[str, str] | None = None) -> Credentials:
        """Keys and endpoints from the environment, overridden by keys the user typed this session."""
        env = os.environ if environ is None else environ
        keys: dict[str, str] = {}
        for provider, names in KEY_ENV.items():
            value = next((env[n] for n in names if env.get(n)), None)
            if value:
                keys[provider] = value
        bases = {"ollama": env.get(base_env_name("ollama")) or OLLAMA_DEFAULT_BASE}
        for provider in KEY_ENV:
            if env.get(base_env_name(provider)):
                bases[provider] = env[base_env_name(provider)]
        return cls(keys={**keys, **(session_keys or {})}, api_bases=bases)

    def with_keys(self, session_keys: Mapping[str, str]) -> Credentials:
        """A copy with the user's typed keys added (empty values remove nothing)."""
        return replace(self, keys={**self.keys, **session_keys})

    def with_session(self, keys: Mapping[str, str], named: Mapping[str, str]) -> Credentials:
        """A copy with a visitor's own keys and named secrets over these (a worker running their run)."""
        return replace(self, keys={**self.keys, **keys}, named={**self.named, **named})

    def with_secret(self, name: str, value: str) -> Credentials:
        """A copy with a named secret (for `{{ secrets.NAME }}` in http tools) set for this session."""
        return replace(self, named={**self.named, name: value})

    def secret(self, name: str, environ: Mapping[str, str] | None = None) -> str | None:
        """A named secret: the session's value, else the server's environment variable of that name."""
        env = os.environ if environ is None else environ
        return self.named.get(name) or (env.get(name) or "").strip() or None

    def without_key(self, provider: str) -> Credentials:
        return replace(self, keys={p: k for p, k in self.keys.items() if p != _canonical(provider)})

    def key_for(self, provider: str) -> str | None:
        provider = _canonical(provider)
        key = self.keys.get(provider)
        if key is None and provider in self.api_bases and provider not in KEYLESS_PROVIDERS:
            return PLACEHOLDER_KEY  # a self-hosted OpenAI-compatible endpoint
        return key

    def api_base_for(self, provider: str) -> str | None:
        return self.api_bases.get(_canonical(provider))

    def has(self, provider: str) -> bool:
        """Whether a call to `provider` can be attempted (a key, or an endpoint for local providers)."""
        provider = _canonical(provider)
        if provider == "offline":
            return True
        return provider in self.keys or provider in self.api_bases

    def configured_providers(self) -> list[str]:
        return sorted(set(self.keys) | set(self.api_bases))

    def secrets(self) -> tuple[str, ...]:
        """Every key value, for `secrets.redact(..., known=...)`."""
        return (*self.keys.values(), *self.named.values())

    def known_secrets(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """Every key this process knows: these credentials' (the session's own included) and the
        environment's, even where a session key replaced one (it must still never be shown)."""
        env = os.environ if environ is None else environ
        from_env = (env[n].strip() for names in KEY_ENV.values() for n in names if env.get(n, "").strip())
        return tuple(dict.fromkeys((*self.keys.values(), *self.named.values(), *from_env)))

    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Credentials:
        return self  # immutable: Gradio's per-session deepcopy of state may share it

    def __reduce__(self) -> tuple[type[Credentials], tuple[dict[str, str], dict[str, str], dict[str, str]]]:
        return (Credentials, (dict(self.keys), dict(self.api_bases), dict(self.named)))

    def __repr__(self) -> str:
        keys = ", ".join(f"{p}=***" for p in sorted(self.keys))
        named = ", ".join(f"{n}=***" for n in sorted(self.named))
        return f"Credentials(keys=[{keys}], api_bases={sorted(self.api_bases)}, secrets=[{named}])"

    __str__ = __repr__
