"""Canary named secrets (`{{ secrets.NAME }}` in an http tool) reach the bound API and nothing else.

One canary comes from the server's environment, one is typed into Settings → Named secrets in a
real browser. Both are sent to a loopback search API that checks the key; a second endpoint echoes
the request headers back (a careless API). Then every place a secret could end up is read: the
events (`/sql`), the history DuckDB, checkpoints.sqlite, the MLflow store, the exports, Gradio's
temp files, logs and the page HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from testkit.replies import Reply, ToolCallSpec
from testkit.search_api import SearchApi
from tests.hardening.conftest import run_args

pytestmark = pytest.mark.browser
ENV_CANARY = "canaryENVSECRET-8d1f0b9c7e6a5d4c3b2a1908"
USER_CANARY = "canaryUSERSECRET-1a2b3c4d5e6f7a8b9c0d1e2f"
NEEDLES = ("canaryENVSECRET", "8d1f0b9c7e6a5d4c3b2a", "canaryUSERSECRET", "1a2b3c4d5e6f7a8b9c0d")


def search_config(base: str, path: str) -> str:
    return f"""\
version: 2
name: canary-search
inputs:
  topic: {{type: string}}
tools:
  search:
    type: http
    url: {base}{path}
    allow: ['{base}/*']
    methods: [POST]
    headers: {{X-API-KEY: '{{{{ secrets.SEARCH_API_KEY }}}}'}}
    secrets: {{SEARCH_API_KEY: [127.0.0.1]}}
    params: {{q: {{type: string}}}}
agents:
  researcher: {{role: Researcher, model: openai/test-model, tools: [search]}}
steps:
  - {{id: answer, type: agent, agent: researcher, prompt: "Search {{{{ inputs.topic }}}}"}}
"""


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def _leaks(blob: str | bytes, where: str) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    return [f"{where}: contains {needle!r}" for needle in NEEDLES if needle in text]


def _wait(page: Any, done: Any, seconds: float = 60) -> None:
    for _ in range(int(seconds * 4)):
        if done():
            return
        page.wait_for_timeout(250)
    raise AssertionError("the page did not get there in time")


@pytest.fixture
def secret_app(tmp_path: Path, llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy
    from tests.ui.conftest import RunningApp
    from ui.app import build_app, launch_kwargs
    from ui.services import AppServices

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-canary-0000000000")
    monkeypatch.setenv("GRAPHWRIGHT_OPENAI_API_BASE", llm_server.base_url)
    monkeypatch.setenv("SEARCH_API_KEY", ENV_CANARY)
    monkeypatch.setenv("GRAPHWRIGHT_MLFLOW", "1")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    data = tmp_path / "data"
    services = AppServices.create(data, base_credentials=Credentials.from_env(),
                                  policy=Policy(default_model="openai/test-model", allow_private_http=True))
    demo = build_app(services)
    kwargs = launch_kwargs(services)
    kwargs.update(server_name="127.0.0.1", server_port=None, quiet=True)
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    try:
        yield RunningApp(url=url, services=services, demo=demo, data_dir=data)
    finally:
        demo.close()
        services.close()


def test_canary_named_secrets_reach_only_the_bound_api(
    secret_app: Any, llm_server: Any, browser: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.hardening.browser_steps import SLOW, expect, open_app, set_editor, tab

    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with SearchApi(ENV_CANARY) as api:
        # An API client: the secret comes from the server's environment.
        client = Client(secret_app.url, verbose=False, download_files=str(tmp_path / "downloads"))
        for path in ("/search", "/echo"):
            llm_server.script(Reply(tool_calls=[ToolCallSpec("search", {"q": "tides"})]), Reply(text="Found it."))
            job = client.submit(*run_args(search_config(api.url, path), topic="tides", allow=True), api_name="/run")
            seen.append(repr(job.result()))
        assert [r.headers["X-API-KEY"] for r in api.requests] == [ENV_CANARY, ENV_CANARY]
        assert "Found it." in seen[0]

        # A person in the browser types their own value into Settings → Named secrets.
        api.key = USER_CANARY
        context, page = open_app(browser, secret_app.url)
        tab(page, "Settings")
        page.locator("#secret-name textarea").fill("SEARCH_API_KEY")
        page.locator("#secret-value input").fill(USER_CANARY)
        page.locator("#secret-save").click()
        expect(page.locator("#secret-status")).to_contain_text("SEARCH_API_KEY")
        expect(page.locator("#function-tools")).to_contain_text("calculate")
        for path in ("/search", "/echo"):
            llm_server.script(Reply(tool_calls=[ToolCallSpec("search", {"q": "moon"})]), Reply(text="Browser done."))
            set_editor(page, search_config(api.url, path))
            tab(page, "Run")
            expect(page.locator("#run-preflight")).to_contain_text("canary-search", timeout=SLOW)
            page.locator("#run-input-0 textarea").fill("moon")
            sent = len(api.requests)
            page.locator("#run-start").click()
            _wait(page, lambda sent=sent: len(api.requests) > sent)  # this run's call, not the last run's status
            expect(page.locator("#run-status")).to_contain_text("finished", timeout=SLOW)
        _wait(page, lambda: "[REDACTED]" in page.content())  # the echoed key, as the trace shows the result
        seen.append(page.content())
        assert [r.headers["X-API-KEY"] for r in api.requests[2:]] == [USER_CANARY, USER_CANARY]
        context.close()

    secret_app.services.history.flush()
    for fmt, rows in (("csv", "runs"), ("parquet", "runs"), ("csv", "model calls")):
        seen.append(repr(client.submit(fmt, rows, "All time", "(any)", "(any)", "(any)", api_name="/export").result()))
    seen.append(repr(client.submit("SELECT * FROM events", api_name="/sql").result()))
    secret_app.demo.close()
    secret_app.services.close()

    out, err = capfd.readouterr()
    leaks = _leaks(out, "stdout") + _leaks(err, "stderr")
    leaks += _leaks("\n".join(r.getMessage() for r in caplog.records), "log records")
    leaks += _leaks("\n".join(seen), "what the API and the page showed")
    data_files = list(_files(secret_app.data_dir))
    assert any(p.name.endswith(".duckdb") for p in data_files) and any("mlflow" in p.name for p in data_files)
    assert any(p.name.startswith("checkpoints") for p in data_files), [p.name for p in data_files]
    downloads = list(_files(tmp_path / "downloads"))
    assert {p.suffix for p in downloads} >= {".csv", ".parquet"}, downloads
    for path in [*data_files, *_files(tmp_path / "gradio-tmp"), *downloads]:
        leaks += _leaks(path.read_bytes(), str(path.relative_to(tmp_path)))
    assert not leaks, "\n".join(leaks)
