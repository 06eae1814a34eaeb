"""Engine fixtures: a workflow from YAML text, an engine on a temp data dir, and a run collector."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.credentials import Credentials
from orchestrator.events import Event
from orchestrator.llm_types import ModelClient
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow
from schemas.models import Workflow

sys.path.insert(0, str(Path(__file__).parent))  # `from scripted import ...` in the tests

FAKE_KEYS = Credentials(keys={"openai": "sk-test-not-used"})
TEST_API_KEY_ENV = "sk-test-loopback-cli-0123456789"


def workflow(text: str) -> Workflow:
    """A validated workflow from (dedented) YAML, as the app would load it."""
    return load_workflow(textwrap.dedent(text), "test.yaml")


def collect(stream: AsyncIterator[Event]) -> list[Event]:
    async def drain() -> list[Event]:
        return [event async for event in stream]

    return asyncio.run(drain())


def of_type(events: list[Event], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


@pytest.fixture
def make_engine(tmp_path: Path) -> Callable[..., Engine]:
    """`make_engine(client, policy=..., sinks=...)`: an engine whose checkpoints live in tmp_path."""

    def make(client: ModelClient | None = None, *, policy: Policy | None = None,
             credentials: Credentials | None = None, sinks: list[Any] | None = None) -> Engine:
        return Engine(data_dir=tmp_path / "data", client=client, credentials=credentials or FAKE_KEYS,
                      policy=policy or Policy(), sinks=sinks or [])

    return make


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    """The local sandbox test image (built from Debian packages when missing); skips without dockerd."""
    import subprocess

    from orchestrator.sandbox import docker_available

    if not docker_available(timeout=3.0):
        pytest.skip("no Docker daemon reachable (scripts/system-deps.sh starts one in CI)")
    image = "graphwright-sandbox-test:py3"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(["bash", str(root / "scripts/build-sandbox-image.sh"), image],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return image
