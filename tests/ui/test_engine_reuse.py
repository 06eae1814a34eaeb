"""Each click gets an engine bound to its visitor, cut from the process's one engine.

The run stores and the compiled graphs belong to the process: a click neither opens the stores again
nor compiles a config the process has already compiled. The keys, model client, policy and sinks
belong to the visitor, and a compiled graph is found only by the exact config it came from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import orchestrator.compiler
from orchestrator.credentials import Credentials
from schemas import load_workflow
from testkit.llm_server import LLMServer
from testkit.replies import Reply
from ui.services import AppServices
from ui.session import Session

WORKFLOW = """
version: 1
name: greet
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: hello, type: agent, agent: w, prompt: Say hello.}
"""


def _visitor(key: str) -> Session:
    session = Session()
    session.settings.keys["openai"] = key
    return session


def _finished(engine: Any, text: str, session: Session) -> str:
    async def run() -> list[Any]:
        return [e async for e in engine.run(load_workflow(text), {}, owner=session.owner_id)]

    return asyncio.run(run())[-1].type


def test_clicks_share_the_stores_and_compiled_graphs_but_each_visitor_keeps_their_keys(
        data_dir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    services = AppServices(data_dir=data_dir, base_credentials=Credentials(
        keys={"openai": "sk-operator-000000"}, api_bases={"openai": llm_server.base_url}))
    compiles: list[str] = []
    compile_workflow = orchestrator.compiler.compile_workflow
    monkeypatch.setattr(orchestrator.compiler, "compile_workflow",
                        lambda wf: compiles.append(wf.name) or compile_workflow(wf))
    ada, bob = _visitor("sk-ada-1111111111"), _visitor("sk-bob-2222222222")
    llm_server.script(Reply(text="hi ada"), Reply(text="hi bob"), Reply(text="hi again"))
    try:
        first, second = services.engine_for(ada), services.engine_for(bob)
        assert _finished(first, WORKFLOW, ada) == "run_finished"
        assert _finished(second, WORKFLOW, bob) == "run_finished"
        assert compiles == ["greet"]  # the second click found the graph the first compiled
        assert second.state is first.state  # one set of run stores per process

        changed = WORKFLOW.replace("Say hello.", "Say hello twice.")
        assert _finished(services.engine_for(ada), changed, ada) == "run_finished"
        assert compiles == ["greet", "greet"]  # another config, another graph
    finally:
        services.close()

    assert [r.headers["Authorization"] for r in llm_server.requests] == [
        "Bearer sk-ada-1111111111", "Bearer sk-bob-2222222222", "Bearer sk-ada-1111111111"]
    assert first.credentials.key_for("openai") == "sk-ada-1111111111"
    assert second.credentials.key_for("openai") == "sk-bob-2222222222"
