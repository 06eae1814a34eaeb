"""`docker compose --profile cluster up`, end to end: every service healthy, then a run made with the
CLI in the app container is executed by a worker container and lands in the shared history.

The model is testkit's loopback LLM server in this test process, bound to the Docker host's bridge
address that the compose file maps to `host.docker.internal` (extra_hosts: host-gateway): the same
path a person's own Ollama or vLLM on the host takes, no extra image to build, and the test sees
every request the workers send. The images are the ones the other container tests build (the
cluster image shares the app image's pip layer), so only the first run of a fresh machine is slow.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from testkit.llm_server import LLMServer
from testkit.replies import Reply
from tests.cluster.runs_testing import TWO_STEPS
from tests.deploy.conftest import build_args, compose_command

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("postgres", "temporal", "worker", "app-cluster")  # the embedded app of `docker compose up` left out
# The commands docs/scaling.md gives (test_compose_cluster.py checks the docs still say them).
UP = ("up", "--build", "--detach", *SERVICES)
RUN = "cat > /tmp/run.yaml && exec python -m graphwright run /tmp/run.yaml"
HISTORY = ("python", "-m", "graphwright", "runs", "--all-users")
DOWN = ("down", "--volumes")
CONTAINERS = 5  # two workers
HEALTHY_WITHIN_S = 420.0  # measured 170-190 s at load average 31-41 on 2 cores


@dataclass
class Cluster:
    base: list[str]
    env: dict[str, str]
    llm: LLMServer
    timings: dict[str, float]

    def compose(self, *args: str, timeout: float = 600, stdin: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.base, *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
        assert done.returncode == 0 or not check, f"docker compose {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def containers(self) -> dict[str, dict[str, Any]]:
        """Every container of the project by name, as `docker inspect` describes it."""
        ids = self.compose("ps", "-q").stdout.split()
        if not ids:
            return {}
        shown = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
        return {c["Name"].lstrip("/"): c for c in json.loads(shown.stdout)}


def _bridge_gateway() -> str:
    """The host's address on Docker's default bridge: what `host-gateway` resolves to in a container."""
    shown = subprocess.run(["docker", "network", "inspect", "bridge", "--format",
                            "{{(index .IPAM.Config 0).Gateway}}"], capture_output=True, text=True, check=True)
    return shown.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cluster(base_image: str) -> Iterator[Cluster]:
    command = compose_command()
    if command is None:
        pytest.skip("no Compose installed (scripts/system-deps.sh installs it)")
    llm = LLMServer(host=_bridge_gateway()).start()
    project = f"gwcl{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **build_args(base_image), "GRAPHWRIGHT_PG_PASSWORD": secrets.token_hex(16),
           "GRAPHWRIGHT_OPENAI_API_BASE": f"http://host.docker.internal:{llm.port}/v1",
           "GRAPHWRIGHT_CLUSTER_PORT": str(_free_port()), "GRAPHWRIGHT_PORT": str(_free_port())}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        env.pop(name, None)  # build arguments of the app image only (conftest.build_args): not Compose's
    cluster = Cluster([*command, "-f", str(ROOT / "docker-compose.yml"), "-p", project, "--profile", "cluster"],
                      env, llm, {})
    try:
        yield cluster
    finally:
        logs = subprocess.run([*cluster.base, "logs", "--tail=30"], env=env, capture_output=True, text=True)
        started = time.monotonic()
        subprocess.run([*cluster.base, *DOWN, "--timeout", "10"], env=env, capture_output=True, timeout=180)
        cluster.timings["down_s"] = round(time.monotonic() - started, 1)
        llm.stop()
        print(cluster.timings)
        print(logs.stdout[-6000:])  # shown only when the test failed
        left = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                              capture_output=True, text=True)
        assert left.stdout.split() == [], f"`down --volumes` left volumes behind: {left.stdout}"


def _wait_until_healthy(cluster: Cluster) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        containers = cluster.containers()
        states = {name: c["State"].get("Health", {}).get("Status", "no health check") for name, c in containers.items()}
        if len(states) == CONTAINERS and all(s == "healthy" for s in states.values()):
            return containers
        assert not any(c["State"]["Status"] == "exited" for c in containers.values()), states
        time.sleep(1.0)
    raise AssertionError(f"not every service healthy within {HEALTHY_WITHIN_S:.0f} s: {states}")


def test_the_cluster_profile_runs_a_workflow_on_a_worker_into_the_shared_history(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    cluster.llm.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}"))
    began = time.monotonic()
    cluster.compose(*UP, timeout=1500)  # builds first: the images other container tests built are reused
    cluster.timings["up_s"] = round(time.monotonic() - began, 1)
    containers = _wait_until_healthy(cluster)
    cluster.timings["healthy_s"] = round(time.monotonic() - began, 1)
    first_start = min(datetime.fromisoformat(c["State"]["StartedAt"][:19]) for c in containers.values())
    cluster.timings["stack_healthy_s"] = round((datetime.utcnow() - first_start).total_seconds(), 1)
    workers = {c["Config"]["Hostname"] for c in containers.values()
               if c["Config"]["Labels"]["com.docker.compose.service"] == "worker"}
    assert len(workers) == 2

    probe = cluster.compose("exec", "-T", "app-cluster", "sh", "/app/cluster/healthcheck.sh", check=False)
    assert probe.returncode == 1, probe.stdout  # the workers' probe fails where no worker polls

    ran = cluster.compose("exec", "-T", "app-cluster", "sh", "-c", f"{RUN} --json", stdin=TWO_STEPS, timeout=180)
    events = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "run_finished" and events[-1]["output"] == "done two done one", ran.stderr
    run_id = events[-1]["run_id"]
    assert [r.messages[-1]["content"] for r in cluster.llm.requests] == ["one", "two done one"]

    shown = cluster.compose("exec", "-T", "temporal", "temporal", "workflow", "show", "--workflow-id", run_id,
                            "--address", "127.0.0.1:7233", "--output", "json")
    started_by = [e["activityTaskStartedEventAttributes"]["identity"] for e in json.loads(shown.stdout)["events"]
                  if "activityTaskStartedEventAttributes" in e]
    assert started_by and {who.rsplit(":", 1)[0] for who in started_by} <= workers, (started_by, workers)

    listed = cluster.compose("exec", "-T", "app-cluster", *HISTORY)
    row = next(line for line in listed.stdout.splitlines() if line.startswith(run_id))
    assert row.split()[3] == "finished", listed.stdout
    cluster.timings["total_s"] = round(time.monotonic() - began, 1)

    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\ncompose cluster: {cluster.timings}")
