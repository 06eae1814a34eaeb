"""Keys the process knows are never shown or stored, whatever their shape.

A provider (or a page a tool fetches) may echo the key back. The session's own key (typed in
Settings) and the environment's key here have no recognisable shape, so only their exact values
can catch them: the reply, the tool result, every event, the history DuckDB and the checkpoints
must hold neither. A run input holding a key is refused before anything is stored.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from history.spool import Spool
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.events import Event
from orchestrator.policy import Policy
from orchestrator.redaction import StreamRedactor
from orchestrator.runner import Engine
from orchestrator.state import InputsError
from schemas import load_workflow
from testkit.replies import Reply, ToolCallSpec

SESSION_KEY = "plainSessionValue42"  # typed in Settings: no provider's shape
ENV_KEY = "envOnly-Q7w"  # short and shapeless, from the environment


@pytest.fixture
def echo_url() -> Iterator[str]:
    """A page that prints both keys back, as a careless (or hostile) site might."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = f"debug: session={SESSION_KEY} env={ENV_KEY}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _workflow(url: str) -> Any:
    return load_workflow(f"""
version: 1
name: echoing
default_model: openai/gpt-4o-mini
inputs: {{topic: {{type: string, default: rivers}}}}
tools:
  page: {{type: http, description: Fetch a page, allow: ['{url}/*']}}
agents: {{w: {{role: Reader, tools: [page]}}}}
steps:
  - {{id: read, type: agent, agent: w, prompt: 'Read about {{{{ inputs.topic }}}}'}}
""", "echo.yaml")


def _collect(stream: Any) -> list[Event]:
    async def drain() -> list[Event]:
        return [event async for event in stream]

    return asyncio.run(drain())


def _model_echoing_keys(url: str) -> Any:
    def reply(req: Any) -> Reply:
        if any(m.get("role") == "tool" for m in req.messages):
            auth = req.headers.get("Authorization", "")
            return Reply(text=f"I was called with {auth} and the env holds {ENV_KEY} ({ENV_KEY[:5]}…).")
        return Reply(tool_calls=[ToolCallSpec("page", {"url": f"{url}/debug"})])

    return reply


def test_keys_echoed_by_the_provider_and_a_tool_are_never_shown_or_stored(
    data_dir: Path, llm_server: Any, echo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.circuit import CircuitBreaker
    from orchestrator.llm import LiteLLMClient

    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)  # the owner's key; this visitor typed their own
    credentials = Credentials(keys={"openai": SESSION_KEY}, api_bases={"openai": llm_server.base_url})
    llm_server.set_default(_model_echoing_keys(echo_url))
    store = HistoryStore.open(data_dir, mlflow=False)
    spool = Spool.create(data_dir)  # where a CLI run records it (ingested at the next open)
    client = LiteLLMClient(credentials, breaker=CircuitBreaker(), backoff_base=0.01)
    engine = Engine(data_dir=data_dir, client=client, credentials=credentials,
                    policy=Policy(allow_private_http=True), sinks=[store.sink, spool.sink])
    try:
        events = _collect(engine.run(_workflow(echo_url), {}, owner="visitor"))
        store.flush(10)
    finally:
        store.close()
        spool.close()

    assert events[-1].type == "run_finished"
    assert any(SESSION_KEY in r.headers.get("Authorization", "") for r in llm_server.requests)  # it was used
    page = "\n".join(e.model_dump_json() for e in events)  # what the Run tab and the CLI render
    assert "[REDACTED]" in events[-1].output and "envOn…" in events[-1].output
    assert "[REDACTED]" in next(e for e in events if e.type == "tool_result").result
    for where, text in [("events", page)] + [(p.name, p.read_bytes().decode("latin-1"))
                                            for p in data_dir.rglob("*") if p.is_file()]:
        assert SESSION_KEY not in text, f"the session's key is in {where}"
        assert ENV_KEY not in text, f"the environment's key is in {where}"
    assert {p.name for p in data_dir.rglob("*")} >= {"checkpoints.sqlite", "history.duckdb", spool.path.name}


def test_a_run_input_holding_a_known_key_is_refused_before_anything_is_stored(data_dir: Path) -> None:
    credentials = Credentials(keys={"openai": SESSION_KEY})
    engine = Engine(data_dir=data_dir, credentials=credentials)
    with pytest.raises(InputsError, match="`topic` contains an API key"):
        _collect(engine.run(_workflow("http://127.0.0.1:9"), {"topic": f"rivers, key {SESSION_KEY}"}))
    assert all(SESSION_KEY not in p.read_bytes().decode("latin-1") for p in data_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("cut", range(1, 12))
def test_a_key_split_across_streamed_chunks_is_still_redacted(cut: int) -> None:
    text = f"the key is {ENV_KEY}, see?"
    chunks = [text[i:i + cut] for i in range(0, len(text), cut)]
    redactor = StreamRedactor([ENV_KEY])
    shown = "".join(redactor.feed(c) for c in chunks) + redactor.flush()
    assert shown == "the key is [REDACTED], see?"
