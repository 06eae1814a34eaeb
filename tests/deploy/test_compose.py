"""docker-compose.yml: the app (hardened, on the shared data volume) plus an optional MLflow UI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrator.credentials import KEY_ENV
from tests.deploy.conftest import compose_command

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(COMPOSE_FILE.read_text())


def test_every_provider_key_is_passed_through_and_none_is_set(compose: dict[str, Any]) -> None:
    environment = compose["services"]["app"]["environment"]
    names = {name for names in KEY_ENV.values() for name in names}
    assert names <= set(environment), f"missing from docker-compose.yml: {sorted(names - set(environment))}"
    assert all(environment[name] is None for name in names), "keys come from the shell, never the file"


def test_the_app_is_hardened_and_gets_no_docker_socket_or_host_path(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in app["security_opt"]
    assert app["ports"] == ["${GRAPHWRIGHT_BIND:-127.0.0.1}:${GRAPHWRIGHT_PORT:-7860}:7860"]
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in compose["volumes"], f"{volume!r} mounts a host path"
        assert not service.get("privileged"), "no service runs privileged"


def test_the_mlflow_ui_is_optional_and_reads_the_apps_store(compose: dict[str, Any]) -> None:
    mlflow = compose["services"]["mlflow"]
    assert mlflow["profiles"] == ["mlflow"]
    assert mlflow["user"] == "1000:1000"  # the app's UID: both write the same SQLite file
    assert (
        "graphwright-data:/data" in mlflow["volumes"]
        and "graphwright-data:/data" in compose["services"]["app"]["volumes"]
    )
    assert "--backend-store-uri=sqlite:////data/mlflow.db" in mlflow["command"]


README = (ROOT / "README.md").read_text()
DEPLOY = README[README.index("## Deploy"):].split("\n## ", 1)[0]


@pytest.mark.docker
def test_the_readmes_compose_command_runs(docker_client: Any) -> None:
    if compose_command() is None:
        pytest.skip("no Compose installed (scripts/system-deps.sh installs it)")
    assert "docker compose up --build" in DEPLOY
    shown = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    assert shown.returncode == 0 and "version" in shown.stdout.lower()


def test_the_readme_documents_the_offline_build() -> None:
    """Without a registry `python:3.11-slim` cannot be pulled: the README gives the local base instead."""
    for step in ("scripts/build-base-image.sh", "export BASE_IMAGE=graphwright-base:bookworm-py311",
                 "docker build --build-arg BASE_IMAGE --build-arg EXTRA_CA_CERTS -t graphwright .",
                 "export EXTRA_CA_CERTS="):
        assert step in DEPLOY, f"the README's Deploy section lacks {step!r}"


@pytest.mark.docker
def test_compose_takes_the_offline_base_and_the_proxy_ca_from_the_shell(docker_client: Any) -> None:
    if compose_command() is None:
        pytest.skip("no Compose installed (scripts/system-deps.sh installs it)")
    env = {**os.environ, "BASE_IMAGE": "graphwright-base:bookworm-py311", "EXTRA_CA_CERTS": "PEM-TEXT"}
    done = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    args = YAML(typ="safe", pure=True).load(done.stdout)["services"]["app"]["build"]["args"]
    assert args["BASE_IMAGE"] == "graphwright-base:bookworm-py311" and args["EXTRA_CA_CERTS"] == "PEM-TEXT"


@pytest.fixture
def compose_project(app_image: Any) -> Iterator[tuple[list[str], dict[str, str], str]]:
    command = compose_command()
    if command is None:
        pytest.skip(
            "neither docker-compose nor the compose plugin is installed (scripts/system-deps.sh installs it)"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project = f"gwtest{uuid.uuid4().hex[:8]}"
    base = [*command, "-f", str(COMPOSE_FILE), "-p", project]
    env = {**os.environ, "GRAPHWRIGHT_IMAGE": app_image.tag, "GRAPHWRIGHT_PORT": str(port)}
    try:
        yield base, env, f"http://127.0.0.1:{port}"
    finally:
        logs = subprocess.run([*base, "logs", "--tail=40"], env=env, capture_output=True, text=True)
        subprocess.run(
            [*base, "down", "--volumes", "--timeout", "5"], env=env, capture_output=True, timeout=120
        )
        print(logs.stdout[-4000:])  # shown only when the test failed


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)  # builds the image first when test_container.py did not
def test_compose_serves_the_app_read_only_on_its_data_volume(
    compose_project: tuple[list[str], dict[str, str], str], wait_for_http: Callable[..., bytes]
) -> None:
    base, env, url = compose_project
    checked = subprocess.run([*base, "config", "--quiet"], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    up = subprocess.run(
        [*base, "up", "--detach", "--no-build", "app"], env=env, capture_output=True, text=True, timeout=300
    )
    assert up.returncode == 0, up.stderr

    assert json.loads(wait_for_http(url + "/healthz"))["status"] == "ok"
    probe = (
        "import os, pathlib\n"
        "print(os.getuid(), sorted(p.name for p in pathlib.Path('/data').iterdir()))\n"
        "try:\n"
        "    open('/app/evil', 'w')\n"
        "except OSError as exc:\n"
        "    print(exc.errno)\n"
    )
    done = subprocess.run(
        [*base, "exec", "-T", "app", "python", "-c", probe], env=env, capture_output=True, text=True
    )
    uid_and_files, errno = done.stdout.splitlines()
    uid, files = uid_and_files.split(" ", 1)
    assert uid == "1000" and files != "[]"
    assert errno == "30"  # EROFS: the root filesystem is read-only
