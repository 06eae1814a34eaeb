"""Pay the first run's one-off costs before anyone asks for a run.

The first run of a process used to take seconds longer than the next: LiteLLM's import (and its own
lazy imports on the first call), LangGraph's and langchain_core's imports, the first graph compile,
the checkpointer's first open, the price map's first lookup, the garbage-collector freeze. The app
calls `warm_run_path` in a background thread once its first page can be served; it runs one
offline (synthetic) workflow through a throwaway engine in a temporary folder, so every module the
run path needs is imported and every lazy cache filled, and nothing is recorded anywhere.

A person may click Run before the warm-up ends. The warm-up then must not compete with that run
for the interpreter (one thread at a time): it imports the run path in the order a run needs it
(the engine and LangGraph, then LiteLLM), so the run waits on an import in progress instead of
doing another one beside it; and it skips its offline run (or cancels it) as soon as a person's
run has started, since that run fills the same caches itself (`orchestrator.foreground`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator import foreground

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

# What a run imports before its first model call: the engine, its graph compiler and LangGraph.
ENGINE_MODULES = ("orchestrator.runner", "orchestrator.drive", "orchestrator.compiler", "orchestrator.nodes.agent_loop",
                  "langgraph.checkpoint.sqlite.aio")

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


POLL_S = 0.01


async def _offline_run_unless_a_person_runs(data_dir: Path, since: int) -> str:
    """The offline run, cancelled the moment a person's run starts; says "done" or "cancelled"."""
    task = asyncio.create_task(_offline_run(data_dir))
    while not task.done():
        if foreground.active() or foreground.begun() != since:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return "cancelled"
        await asyncio.wait({task}, timeout=POLL_S)
    task.result()
    return "done"


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up did: its `seconds`, and whether its offline run was "done", "skipped" (a
    person's run had started: it warms the same caches) or "cancelled" (one started meanwhile)."""

    seconds: float
    offline_run: str


def warm_run_path(models: tuple[str, ...] = ()) -> WarmUp:
    """Import and fill everything a run needs (blocking: call it from a background thread).

    `models`: the models runs will likely call (the settings' default), whose prices and context
    windows are looked up now.
    """
    started = time.perf_counter()
    since = foreground.begun()
    for name in ENGINE_MODULES:  # what a run imports first (before it needs LiteLLM)
        importlib.import_module(name)
    from orchestrator.llm import load_litellm

    load_litellm()
    for name in PROVIDER_MODULES:
        importlib.import_module(name)
    offline = "skipped"
    if not foreground.active() and foreground.begun() == since:
        folder = Path(tempfile.mkdtemp(prefix="graphwright-warm-"))
        try:
            with foreground.background():
                offline = asyncio.run(_offline_run_unless_a_person_runs(folder, since))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    from orchestrator.context_window import _litellm_window
    from orchestrator.pricing import cost_of

    for model in models:
        cost_of(model, 1, 1)
        _litellm_window(model)
    gc.freeze()  # what the imports and the run left alive stays out of later collections (no full
    # collection first: it would stop every thread, a run the person just started included, ~0.5 s)
    return WarmUp(time.perf_counter() - started, offline)
