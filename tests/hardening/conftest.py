"""Hardening fixtures: a launched app, a loopback "sink" that records every request, a browser.

The sink stands in for anything an attacker would like the server or the browser to reach (an
exfiltration endpoint, a metadata service, an internal admin page): a test passes only when it
recorded nothing. The app is the real one (`ui.app.build_app`) on loopback, its provider pointed at
the test LLM server through `Credentials` (code), never through YAML.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from testkit.llm_server import LLMServer
from tests.ui.conftest import RunningApp, start_app, stop_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEST_MODEL = "openai/test-model"
WORKFLOW = """\
version: 1
name: hardening
inputs:
  topic: {type: string}
agents:
  writer: {role: Writer, model: openai/test-model}
steps:
  - {id: write, type: agent, agent: writer, prompt: "Write about {{ inputs.topic }}"}
"""


@dataclass
class Sink:
    """A loopback HTTP server that answers everything and remembers every request it saw."""

    url: str
    hits: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location

    def clear(self) -> None:
        self.hits.clear()


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            sink.hits.append(f"{self.command} {self.path}")
            target = sink.redirects.get(self.path.split("?")[0])
            if target is not None:
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
                return
            body = b"SINK-CONTENT secret internal data"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _any  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def start_sink(host: str = "127.0.0.1") -> tuple[Sink, ThreadingHTTPServer]:
    sink = Sink(url="")
    server = ThreadingHTTPServer((host, 0), _handler(sink))
    sink.url = f"http://{host}:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sink, server


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    found, server = start_sink()
    yield found
    server.shutdown()


@pytest.fixture
def fresh_sink(sink: Sink) -> Sink:
    sink.clear()
    sink.redirects.clear()
    return sink


@pytest.fixture(scope="module")
def hardened_app(tmp_path_factory: pytest.TempPathFactory, _llm_server_session: LLMServer) -> Iterator[RunningApp]:
    """The real app on loopback with a fresh data dir (one per test module: it is slow to start)."""
    app = start_app(tmp_path_factory.mktemp("data"), _llm_server_session)
    yield app
    stop_app(app)


def run_args(config: str, topic: str = "tides", allow: bool = False) -> tuple[Any, ...]:
    """The `/run` endpoint's positional arguments: config, model, allow, JSON inputs, 8 slots, 8 flags."""
    return (config, "", allow, "", topic, *[""] * 7, *[False] * 8)


def refused_run(client: Any, *args: Any) -> str:
    """The status a refused `/run` shows: a refusal stays in the trace area as "Not started", it
    does not raise (the Run tab words it for people)."""
    status = str(client.predict(*args, api_name="/run")[0])
    assert status.startswith("**Not started.**"), status[:300]
    return status


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh installs it)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
