"""Fixtures of the checks tests: a workflow with checks, and a loopback server that answers it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `checks_testing` for the tests
sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))  # `engine_testing`

from checks_testing import answer_steps  # noqa: E402


@pytest.fixture
def answering(llm_server):
    """The loopback server answering the workflow's steps by their prompts (judges get scripted)."""
    llm_server.set_default(answer_steps)
    return llm_server


@pytest.fixture
def engine(tmp_path: Path, llm_client):
    """An engine on a temp data dir whose model calls go through LiteLLM to the loopback server."""
    from engine_testing import FAKE_KEYS

    from orchestrator.policy import Policy
    from orchestrator.runner import Engine

    return Engine(data_dir=tmp_path / "data", client=llm_client, credentials=FAKE_KEYS, policy=Policy())
