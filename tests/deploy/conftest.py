"""Fixtures for the container tests: a local base image, the app image built from the Dockerfile.

No base image can be pulled here, so `scripts/build-base-image.sh` makes one with debootstrap (cached
by tag). The app image is built through the Docker SDK (the classic builder, which needs no buildx
plugin); its pip step reaches PyPI from inside the build. A TLS-intercepting proxy's CA (Debian keeps
locally added CAs in /usr/local/share/ca-certificates) goes in as the EXTRA_CA_CERTS build argument.
Docker's layer cache makes every build after the first take seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from docker import DockerClient

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "graphwright-base:bookworm-py311"
APP_IMAGE = "graphwright-app:test"
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    build_s: float
    size_mb: float
    attrs: dict[str, Any]


@pytest.fixture(scope="session")
def base_image(docker_client: DockerClient) -> str:
    """Debian bookworm + Python 3.11, standing in for python:3.11-slim (built once, then reused)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/build-base-image.sh"), BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (
        f"building {BASE_IMAGE} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return BASE_IMAGE


def build_args(base: str) -> dict[str, str]:
    args = {"BASE_IMAGE": base}
    certs = "".join(p.read_text() for p in sorted(LOCAL_CA_DIR.glob("*.crt")))
    if certs.strip():
        args["EXTRA_CA_CERTS"] = certs
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        value = os.environ.get(name, "")
        if value.startswith(("http://", "https://")) or (name == "PIP_TRUSTED_HOST" and value):
            args[name] = value
    return args


def compose_command() -> list[str] | None:
    """`docker compose`, as the README says; None only when no Compose of any version is installed."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    assert not shutil.which("docker-compose"), (
        "`docker compose` (as the README says) fails although docker-compose is installed: "
        "scripts/system-deps.sh adds the plugin that hands it over")
    return None


def _image_id(client: DockerClient, tag: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag).id
    except ImageNotFound:
        return None


def _remove_quietly(client: DockerClient, image_id: str) -> None:
    from docker.errors import APIError

    try:
        client.images.remove(image_id)
    except APIError:
        pass  # still used by a container, or already gone: nothing to clean


@pytest.fixture(scope="session")
def app_image(docker_client: DockerClient, base_image: str, request: pytest.FixtureRequest) -> BuiltImage:
    """The Dockerfile built on the local base; the build time and image size are reported."""
    previous = _image_id(docker_client, APP_IMAGE)
    started = time.monotonic()
    log: list[str] = []
    for chunk in docker_client.api.build(
        path=str(ROOT), tag=APP_IMAGE, buildargs=build_args(base_image), rm=True, forcerm=True, decode=True
    ):
        log.append(chunk.get("stream", "") or json.dumps(chunk))
        if "error" in chunk:
            pytest.fail(f"docker build failed: {chunk['error']}\n{''.join(log)[-4000:]}")
    build_s = time.monotonic() - started
    image = docker_client.images.get(APP_IMAGE)
    if previous and previous != image.id:
        _remove_quietly(docker_client, previous)  # an outdated ~900 MB image per change adds up
    built = BuiltImage(APP_IMAGE, round(build_s, 1), round(image.attrs["Size"] / 1e6, 1), image.attrs)
    ARTIFACTS.mkdir(exist_ok=True)
    report = {"image": APP_IMAGE, "base": base_image, "build_s": built.build_s, "size_mb": built.size_mb}
    (ARTIFACTS / "deploy-image.json").write_text(json.dumps(report, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\ndeploy: built {APP_IMAGE} in {built.build_s} s, {built.size_mb} MB")
    return built


def _wait_for_http(url: str, timeout: float = 180.0) -> bytes:
    """GET `url` until it answers 200 (the app imports Gradio first); fail with the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return response.read()
        except OSError as exc:  # URLError, or a reset while the server starts
            last = exc
        time.sleep(1.0)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s (last error: {last})")


@pytest.fixture(scope="session")
def wait_for_http() -> Callable[..., bytes]:
    """`wait_for_http(url, timeout=180)`: the body of the first 200 answer."""
    return _wait_for_http
