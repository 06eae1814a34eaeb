"""Canary keys never land anywhere: output, logs, history, checkpoints, MLflow, temp files, exports, page.

A provider key comes from the environment (as a Space secret would), a user key is typed into
Settings in a real browser; logging is at DEBUG everywhere (LiteLLM too) and the provider answers
with errors that echo the key (the test server's `auth` fault) or carry it in a URL's query string.
Then every place a secret could end up is read byte by byte.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gradio_client import Client

from testkit.replies import Reply, ToolCallSpec
from tests.hardening.conftest import WORKFLOW, run_args

pytestmark = pytest.mark.browser
PROVIDER_CANARY = "sk-canaryPROV-4f1d2c3b5a6e7f8091a2b3c4d5e6f708"
USER_CANARY = "sk-canaryUSER-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
# The distinctive middle of each key: a masked form (`sk-…f708`) is fine, any longer piece is not.
NEEDLES = ("canaryPROV-4f1d2c3b5a6e", "canaryUSER-9e8d7c6b5a4f", "4f1d2c3b5a6e7f8091a2b3c4",
           "9e8d7c6b5a4f3e2d1c0b9a8f")
CONFIG = {
    "version": 1, "name": "canary-run", "inputs": {"topic": {"type": "string"}},
    "agents": {"writer": {"role": "Writer", "model": "openai/test-model"}},
    "steps": [{"id": "write", "type": "agent", "agent": "writer", "prompt": "Write about {{ inputs.topic }}"}],
}


def _leaks(blob: str | bytes, where: str) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    return [f"{where}: contains {needle!r}" for needle in NEEDLES if needle in text]


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def canary_app(tmp_path: Path, llm_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy
    from tests.ui.conftest import RunningApp
    from ui.app import build_app, launch_kwargs
    from ui.services import AppServices

    monkeypatch.setenv("OPENAI_API_KEY", PROVIDER_CANARY)
    monkeypatch.setenv("GRAPHWRIGHT_OPENAI_API_BASE", llm_server.base_url)
    monkeypatch.setenv("LITELLM_LOG", "DEBUG")
    monkeypatch.setenv("GRAPHWRIGHT_MLFLOW", "1")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    data = tmp_path / "data"
    services = AppServices.create(data, base_credentials=Credentials.from_env(),
                                  policy=Policy(default_model="openai/test-model"))
    demo = build_app(services)
    kwargs = launch_kwargs(services)
    kwargs.update(server_name="127.0.0.1", server_port=None, quiet=True)
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    app = RunningApp(url=url, services=services, demo=demo, data_dir=data)
    try:
        yield app
    finally:
        demo.close()
        services.close()


def _outputs(job: Any) -> str:
    try:
        job.result()
    except Exception as exc:  # noqa: BLE001 - the error text shown to the caller is checked too
        return repr(job.outputs()) + "\n" + str(exc)
    return repr(job.outputs())


def test_canary_keys_never_leave_the_request_that_needs_them(
    canary_app: Any, llm_server: Any, browser: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.hardening.browser_steps import assistant_chat, open_app, run_config, set_key, tab, use_model

    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    url_fault = Reply(fault="bad_request", message=f"upstream 400 at https://gen.example/v1/x?key={PROVIDER_CANARY}")
    seen: list[str] = []

    # An API client on the provider (environment) key.
    client = Client(canary_app.url, verbose=False, download_files=str(tmp_path / "downloads"))
    llm_server.script(Reply(fault="auth"))
    seen.append(_outputs(client.submit("design a brief writer", "Assistant (LLM)", api_name="/chat")))
    llm_server.script(url_fault)
    seen.append(_outputs(client.submit("and again", "Assistant (LLM)", api_name="/chat")))
    llm_server.script(Reply(fault="auth"))
    seen.append(_outputs(client.submit(*run_args(WORKFLOW, topic="auth fault"), api_name="/run")))
    llm_server.script(url_fault)
    seen.append(_outputs(client.submit(*run_args(WORKFLOW, topic="url fault"), api_name="/run")))
    llm_server.script(Reply(text="A fine answer."))
    seen.append(_outputs(client.submit(*run_args(WORKFLOW, topic="works"), api_name="/run")))
    canary_app.services.history.flush()
    for fmt, rows in (("csv", "runs"), ("parquet", "runs"), ("csv", "model calls")):
        seen.append(_outputs(client.submit(fmt, rows, "All time", "(any)", "(any)", "(any)", api_name="/export")))
    seen.append(_outputs(client.submit("All time", "(any)", "(any)", "(any)", api_name="/analytics")))
    seen.append(_outputs(client.submit("SELECT * FROM events", api_name="/sql")))

    # A person in the browser with their own key, MLflow tracing on.
    context, page = open_app(browser, canary_app.url)
    set_key(page, "openai", USER_CANARY)
    page.get_by_label("Trace my runs to MLflow (local store in the data directory)").check()
    page.wait_for_timeout(1500)
    use_model(page, "openai/test-model")
    llm_server.script(Reply(fault="auth"))
    assistant_chat(page, "design something")
    seen.append(page.content())
    llm_server.script(Reply(text="ok", tool_calls=[ToolCallSpec("set_config", {"config": CONFIG})]))
    assistant_chat(page, "a writer please")
    llm_server.script(Reply(fault="auth"))
    run_config(page, yaml.safe_dump(CONFIG, sort_keys=False), "browser auth fault")
    seen.append(page.content())
    llm_server.script(Reply(text="Browser answer."))
    page.locator("#run-start").click()
    page.wait_for_timeout(3000)
    tab(page, "Analytics")
    page.locator("#an-refresh").click()
    page.wait_for_timeout(1500)
    seen.append(page.content())
    context.close()

    # The canaries really were in play: sent as the bearer token and echoed back by the provider.
    auths = [r.headers.get("Authorization", "") for r in llm_server.requests]
    assert any(PROVIDER_CANARY in a for a in auths) and any(USER_CANARY in a for a in auths)

    canary_app.demo.close()
    canary_app.services.close()
    out, err = capfd.readouterr()
    leaks: list[str] = []
    leaks += _leaks(out, "stdout") + _leaks(err, "stderr")
    leaks += _leaks("\n".join(r.getMessage() for r in caplog.records), "log records")
    leaks += _leaks("\n".join(seen), "what the API and the page showed")
    data_files = list(_files(canary_app.data_dir))
    assert any(p.name.endswith(".duckdb") for p in data_files) and any("mlflow" in p.name for p in data_files)
    assert any(".sqlite" in p.name or p.suffix == ".db" for p in data_files)
    downloads = list(_files(tmp_path / "downloads"))
    assert {p.suffix for p in downloads} >= {".csv", ".parquet"}, downloads
    for path in [*data_files, *_files(tmp_path / "gradio-tmp"), *downloads]:
        leaks += _leaks(path.read_bytes(), str(path.relative_to(tmp_path)))
    assert not leaks, "\n".join(leaks)
    assert os.environ["OPENAI_API_KEY"] == PROVIDER_CANARY  # the environment itself is left alone
