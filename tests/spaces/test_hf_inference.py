"""Inference Providers through LiteLLM's `huggingface/` provider, offline: the loopback server stands in
for the Hugging Face router (`GRAPHWRIGHT_HUGGINGFACE_API_BASE`, as a test or an operator would set it).

A run on a Space by a signed-in visitor streams, counts tokens, returns structured output, is
recorded under `hf:<name>`, and is marked unpriced (LiteLLM's map has no price for the model); the
visitor's token and the Space's token are canaries that must never reach history, checkpoints,
events, logs or MLflow, and another visitor never gets the first visitor's token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.credentials import Credentials
from orchestrator.hf_inference import HOSTED_DEFAULT
from schemas import load_workflow_file
from testkit.llm_server import LLMServer
from testkit.replies import Reply
from ui.services import AppServices
from ui.session import Session, adopt_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "one_persona.yaml"
VISITOR = "hf_visitorCANARY7c1e9a0b2d4f6a8c0e1b3d5f"
OWNER = "hf_ownerCANARY5b7d9f1a3c5e7a9b1d3f5a7c9e"
NEEDLES = ("visitorCANARY7c1e9a0b2d4f", "ownerCANARY5b7d9f1a3c5e", "7c1e9a0b2d4f6a8c0e1b3d5f",
           "5b7d9f1a3c5e7a9b1d3f5a7c9e")
ROUTER_MODEL = HOSTED_DEFAULT.removeprefix("huggingface/")


def _signed_in(name: str, token: str) -> Session:
    info = {"access_token": token, "expires_at": int(time.time()) + 3600, "userinfo": {"preferred_username": name}}
    return adopt_user(Session(), SimpleNamespace(username=None, session={"oauth_info": info}))


def _collect(stream: AsyncIterator[Any]) -> list[Any]:
    async def drain() -> list[Any]:
        return [event async for event in stream]

    return asyncio.run(drain())


@pytest.fixture
def space(tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppServices]:
    """The app's services as on a Space with an `HF_TOKEN` secret, the router on loopback, tracing on."""
    monkeypatch.setenv("SPACE_ID", "owner/graphwright")
    monkeypatch.setenv("HF_TOKEN", OWNER)
    monkeypatch.setenv("GRAPHWRIGHT_HUGGINGFACE_API_BASE", llm_server.base_url)
    monkeypatch.setenv("LITELLM_LOG", "DEBUG")
    services = AppServices.create(tmp_path / "data", base_credentials=Credentials.from_env())
    yield services
    services.close()


def test_a_signed_in_visitors_run_uses_their_token_and_leaves_it_nowhere(
        space: AppServices, llm_server: LLMServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    llm_server.script(Reply.json({"score": 8, "mood": "mixed"}),
                      Reply(text="Export saves an hour; Mondays are slow."))
    ada = _signed_in("ada", VISITOR)
    ada.settings.mlflow = True
    engine = space.engine_for(ada)
    events = _collect(engine.run(load_workflow_file(EXAMPLE), {}, owner=ada.owner_id))

    assert events[-1].type == "run_finished", events[-1]
    llm_server.assert_all_used()
    # the example names an OpenAI model: with no OpenAI key on the Space, the Inference Providers default runs
    assert [r.model for r in llm_server.requests] == [ROUTER_MODEL, ROUTER_MODEL]
    assert all(r.path == "/v1/chat/completions" and r.stream for r in llm_server.requests)
    assert {r.headers.get("Authorization") for r in llm_server.requests} == {f"Bearer {VISITOR}"}
    warnings = [e.message for e in events if e.type == "warning"]
    assert any("Hugging Face Inference Providers model" in w for w in warnings), warnings
    calls = [e for e in events if e.type == "llm_call"]
    assert [c.model for c in calls] == [HOSTED_DEFAULT] * 2
    assert all(c.tokens_in > 0 and c.tokens_out > 0 and c.unpriced and not c.synthetic for c in calls), calls
    assert len([e for e in events if e.type == "token"]) >= 4  # streamed piece by piece
    assert events[-1].outputs["score"] == {"score": 8, "mood": "mixed"}

    store = space.history
    store.flush(10)
    cur = store.read_cursor()
    assert cur.execute("SELECT owner FROM runs").fetchall() == [("hf:ada",)]
    assert cur.execute("SELECT DISTINCT owner, unpriced FROM llm_calls").fetchall() == [("hf:ada", True)]

    bob = Session()  # another visitor, anonymous: the Space's token, never ada's
    assert space.credentials_for(bob).key_for("huggingface") == OWNER
    from history.queries import replay, run_calls

    assert replay(cur, events[-1].run_id, bob.owner_id) == []
    assert run_calls(cur, events[-1].run_id, bob.owner_id).empty

    tracer = space.mlflow_tracer()
    assert tracer is not None, "MLflow tracing did not start"
    space.close()  # everything on disk now: history, checkpoints, MLflow's store
    leaks = [f"log: {n}" for n in NEEDLES if n in caplog.text]
    leaks += [f"events: {n}" for e in events for n in NEEDLES if n in e.model_dump_json()]
    for path in (p for p in space.data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        leaks += [f"{path.relative_to(space.data_dir)}: {n}" for n in NEEDLES if n.encode() in data]
    assert not leaks, leaks
    mlflow_files = [p for p in space.data_dir.rglob("*") if "mlflow" in p.name.lower()]
    assert mlflow_files, "MLflow wrote nothing: the canary check above did not cover it"


def test_without_any_token_the_space_stays_on_the_labelled_offline_model(
        tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACE_ID", "owner/graphwright")
    services = AppServices(data_dir=tmp_path, base_credentials=Credentials.from_env())
    events = _collect(services.engine_for(Session()).run(load_workflow_file(EXAMPLE), {}))
    assert events[-1].type == "run_finished" and not llm_server.requests
    calls = [e for e in events if e.type == "llm_call"]
    assert calls and all(c.synthetic and c.model == "offline/synthetic" for c in calls)
