"""Pay the first run's one-off costs before anyone asks for a run.

The first run of a process used to take seconds longer than the next: LiteLLM's import (and its own
lazy imports on the first call), LangGraph's and langchain_core's imports, the first graph compile,
the checkpointer's first open, the price map's first lookup, the garbage-collector freeze. The app
calls `warm_run_path` in a background thread once its first page can be served; it runs one
offline (synthetic) workflow through a throwaway engine in a temporary folder, so every module the
run path needs is imported and every lazy cache filled, and nothing is recorded anywhere.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

# What LiteLLM imports on the first call to an OpenAI-compatible provider (the offline run goes
# through a custom provider instead), found by listing `sys.modules` before and after that call.
PROVIDER_MODULES = (
    "litellm._service_logger",
    "litellm.integrations.prometheus_services",
    "litellm.llms.custom_httpx.llm_http_handler",
    "litellm.llms.openai.chat.gpt_audio_transformation",
    "litellm.llms.openai.chat.gpt_transformation",
    "litellm.types.integrations.prometheus",
)

_WORKFLOW = """
version: 1
name: warm-up
agents: {w: {role: Writer}}
steps:
  - {id: s, type: agent, agent: w, prompt: Say hello.}
"""


async def _offline_run(data_dir: Path) -> None:
    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient
    from orchestrator.offline_model import MODEL
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine
    from schemas import load_workflow

    credentials = Credentials()
    engine = Engine(data_dir=data_dir, client=LiteLLMClient(credentials), credentials=credentials,
                    policy=Policy(default_model=MODEL))
    async for event in engine.run(load_workflow(_WORKFLOW), {}):
        if event.type in ("run_failed", "run_cancelled"):
            log.warning("warm-up run ended with %s", event.type)


def warm_run_path(models: tuple[str, ...] = ()) -> float:
    """Import and fill everything a run needs (blocking: call it from a background thread).

    `models`: the models runs will likely call (the settings' default), whose prices and context
    windows are looked up now. Returns the seconds it took.
    """
    started = time.perf_counter()
    from orchestrator.llm import load_litellm

    load_litellm()
    for name in PROVIDER_MODULES:
        importlib.import_module(name)
    folder = Path(tempfile.mkdtemp(prefix="graphwright-warm-"))
    try:
        asyncio.run(_offline_run(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    from orchestrator.context_window import _litellm_window
    from orchestrator.pricing import cost_of

    for model in models:
        cost_of(model, 1, 1)
        _litellm_window(model)
    gc.freeze()  # what the imports and the run left alive stays out of later collections (no full
    # collection first: it would stop every thread, a run the person just started included, ~0.5 s)
    return time.perf_counter() - started
