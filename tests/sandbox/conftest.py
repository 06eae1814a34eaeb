"""Fixtures for the sandbox tests: a real dockerd, a small local Python image, a leftover check.

No image registry is reachable, so the image is built once from Debian packages by
`scripts/build-sandbox-image.sh` and cached by tag; later runs reuse it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator.sandbox_limits import SANDBOX_LABEL
from orchestrator.sandbox_owner import OWNER_LABEL, current
from schemas.models import PythonTool

if TYPE_CHECKING:
    from docker import DockerClient

ROOT = Path(__file__).resolve().parents[2]
TEST_IMAGE = "graphwright-sandbox-test:py3"


@pytest.fixture(scope="session")
def sandbox_image(docker_client: DockerClient) -> str:
    """`graphwright-sandbox-test:py3`, built from Debian packages the first time it is missing."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/build-sandbox-image.sh"), TEST_IMAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"building {TEST_IMAGE} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return TEST_IMAGE


def _own_containers(client: DockerClient) -> list[Any]:
    """The sandbox containers this test process started: others share the daemon and run their own."""
    mine = [SANDBOX_LABEL, f"{OWNER_LABEL}={current().label}"]
    return client.containers.list(all=True, sparse=True, filters={"label": mine})  # sparse: no racy inspect


@pytest.fixture
def own_containers(docker_client: DockerClient) -> Callable[[], list[Any]]:
    """Lists the sandbox containers this test process started (running or not)."""
    return lambda: _own_containers(docker_client)


@pytest.fixture
def no_leftovers(docker_client: DockerClient) -> Iterator[None]:
    """Fails the test if a sandbox container it started is still there after it (running or not).

    A stopped run's container is removed in the background, within a second: allow two.
    """
    before = {c.id for c in _own_containers(docker_client)}
    yield
    deadline = time.monotonic() + 2.0
    while (left := [c.attrs.get("Names") for c in _own_containers(docker_client) if c.id not in before]) and (
            time.monotonic() < deadline):
        time.sleep(0.05)
    assert not left, f"sandbox containers left behind: {left}"


@pytest.fixture
def make_tool(sandbox_image: str, no_leftovers: None) -> Callable[..., PythonTool]:
    """Builds a `python` tool on the test image with small limits, so every test stays fast."""

    def make(**overrides: Any) -> PythonTool:
        fields: dict[str, Any] = {"type": "python", "image": sandbox_image, "timeout": 10, "memory_mb": 64}
        fields.update(overrides)
        return PythonTool(**fields)

    return make
