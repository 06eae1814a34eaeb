"""Engine fixtures: an engine on a temp data dir, and the sandbox image for the python-tool test.

Helpers (`workflow`, `collect`, `of_type`) live in `engine_testing`; they are re-exported here for
older imports, but import them from `engine_testing` (`conftest` names a different module per dir).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `engine_testing` and `scripted` for the tests

from engine_testing import FAKE_KEYS, TEST_API_KEY_ENV, collect, of_type, workflow  # noqa: E402

from orchestrator.credentials import Credentials  # noqa: E402
from orchestrator.llm_types import ModelClient  # noqa: E402
from orchestrator.policy import Policy  # noqa: E402
from orchestrator.runner import Engine  # noqa: E402

__all__ = ["FAKE_KEYS", "TEST_API_KEY_ENV", "collect", "of_type", "workflow"]


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
