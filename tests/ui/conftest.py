"""One in-process app per test module, launched on loopback with the test LLM server as provider.

The provider endpoint is given through `Credentials` (code), never through a YAML config; the data
directory is a fresh temp dir. `GRADIO_SERVER_PORT` is ignored: Gradio picks a free port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.llm_server import LLMServer

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
TEST_API_KEY = "sk-test-ui-0123456789abcdefABCDEF"


@dataclass
class RunningApp:
    url: str
    services: object
    demo: object
    data_dir: Path


def start_app(data_dir: Path, llm: LLMServer) -> RunningApp:
    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy
    from ui.app import build_app, launch_kwargs
    from ui.services import AppServices

    creds = Credentials(keys={"openai": TEST_API_KEY}, api_bases={"openai": llm.base_url})
    services = AppServices.create(data_dir, base_credentials=creds, policy=Policy())
    demo = build_app(services)
    kwargs = launch_kwargs(services)
    kwargs.update(server_name="127.0.0.1", server_port=None, quiet=True)
    os.environ.pop("GRADIO_SERVER_PORT", None)
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    return RunningApp(url=url, services=services, demo=demo, data_dir=data_dir)


def stop_app(app: RunningApp) -> None:
    app.demo.close()
    app.services.close()


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory: pytest.TempPathFactory, _llm_server_session: LLMServer) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("data"), _llm_server_session)
    yield app
    stop_app(app)
