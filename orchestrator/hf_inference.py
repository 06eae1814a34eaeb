"""Hugging Face Inference Providers: real answers on a Space without a provider key.

On a Space, the visitor's own Hugging Face token (from signing in, with the `inference-api` scope)
or the Space's `HF_TOKEN` secret lets LiteLLM's `huggingface/` provider call Inference Providers
through the Hugging Face router. The token is the `huggingface` key in the session's `Credentials`:
passed per call, never in a config, history, event or log (`Credentials.known_secrets` redacts it).

The embedded default on a Space is then a small, cheap instruct model (`HOSTED_DEFAULT`, or the
operator's `GRAPHWRIGHT_HF_MODEL`); without a token the offline synthetic model stays the default.
Tests point the provider at the loopback server with `GRAPHWRIGHT_HUGGINGFACE_API_BASE`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from orchestrator.credentials import Credentials
from orchestrator.providers import model_string_problem, provider_of

HOSTED_DEFAULT = "huggingface/Qwen/Qwen2.5-7B-Instruct"
MODEL_ENV = "GRAPHWRIGHT_HF_MODEL"
log = logging.getLogger(__name__)


def on_space(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs on a Hugging Face Space (the platform sets `SPACE_ID`)."""
    env = os.environ if environ is None else environ
    return bool(env.get("SPACE_ID", "").strip())


def hosted_model(environ: Mapping[str, str] | None = None) -> str:
    """`GRAPHWRIGHT_HF_MODEL` when it names a `huggingface/...` model, else `HOSTED_DEFAULT`."""
    env = os.environ if environ is None else environ
    chosen = env.get(MODEL_ENV, "").strip()
    if not chosen:
        return HOSTED_DEFAULT
    problem = model_string_problem(chosen)
    if problem is None and provider_of(chosen) != "huggingface":
        problem = "it must be a 'huggingface/...' model"
    if problem:
        log.warning("%s=%r is not used (%s): using %s", MODEL_ENV, chosen[:80], problem, HOSTED_DEFAULT)
        return HOSTED_DEFAULT
    return chosen


def hosted_default(credentials: Credentials, environ: Mapping[str, str] | None = None) -> str | None:
    """The Space's default model when a Hugging Face token is at hand there, else None (unchanged)."""
    if on_space(environ) and credentials.has("huggingface"):
        return hosted_model(environ)
    return None
