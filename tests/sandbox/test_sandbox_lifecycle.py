"""A sandbox container lives only as long as the run that asked for it.

Stopping a run kills its container at once (not at the tool's own timeout); a container whose app
process died (kill -9) is removed by the next sweep of any app on the machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.sandbox import remove_stale_containers
from orchestrator.sandbox_limits import SANDBOX_LABEL
from orchestrator.sandbox_owner import OWNER_LABEL, Owner, current
from schemas import load_workflow
from testkit.replies import Reply, ToolCallSpec

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]

SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(100)"


def _config(image: str) -> str:
    return textwrap.dedent(f"""\
        version: 1
        name: sleepy-tool
        default_model: openai/gpt-4o-mini
        tools:
          py: {{type: python, image: '{image}', timeout: 100, memory_mb: 64}}
        agents: {{w: {{role: Coder, tools: [py]}}}}
        steps:
          - {{id: work, type: agent, agent: w, prompt: 'sleep'}}
        """)


def _calls_the_sleeper(req: Any) -> Reply:
    if any(m.get("role") == "tool" for m in req.messages):
        return Reply(text="done")
    return Reply(tool_calls=[ToolCallSpec("py", {"code": SLEEPER})])


def _wait_for(condition: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_stopping_a_run_kills_its_container_within_a_second(
    docker_client: Any, sandbox_image: str, no_leftovers: None, own_containers: Any, data_dir: Path,
    llm_server: Any, llm_client: Any,
) -> None:
    from orchestrator.runner import Engine

    llm_server.set_default(_calls_the_sleeper)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials)
    workflow = load_workflow(_config(sandbox_image), "sleepy.yaml")
    figures: dict[str, float] = {}

    async def run_then_stop() -> list[str]:
        seen: list[str] = []

        async def consume() -> None:
            async for event in engine.run(workflow, {}):
                seen.append(event.type)

        task = asyncio.create_task(consume())
        await asyncio.to_thread(_wait_for, lambda: any(c.status == "running" for c in own_containers()),
                                30, "the tool's container should be running")
        stopped = time.monotonic()
        task.cancel()  # what Stop in the app and Ctrl-C in the CLI do to the run's consumer
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(_wait_for, lambda: not own_containers(), 5,
                                "the container should be gone")
        figures["kill_s"] = time.monotonic() - stopped
        return seen

    seen = asyncio.run(run_then_stop())
    print(f"\n[sandbox] container gone {figures['kill_s']:.2f} s after Stop")
    assert "tool_call" in seen
    assert figures["kill_s"] < 1.0


def test_ctrl_c_in_the_cli_kills_the_runs_container_within_a_second(
    docker_client: Any, sandbox_image: str, tmp_path: Path, llm_server: Any
) -> None:
    llm_server.set_default(_calls_the_sleeper)
    (tmp_path / "wf.yaml").write_text(_config(sandbox_image))
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-cli-ctrl-c-0123456789abcdef",
           "GRAPHWRIGHT_OPENAI_API_BASE": llm_server.base_url, "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    cli = subprocess.Popen([sys.executable, "-m", "graphwright", "run", str(tmp_path / "wf.yaml"), "--data-dir",
                            str(tmp_path / "d")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    host = current().host

    def cli_containers() -> list[Any]:
        listed = docker_client.containers.list(all=True, sparse=True, filters={"label": SANDBOX_LABEL})
        return [c for c in listed if (o := Owner.parse((c.attrs.get("Labels") or {}).get(OWNER_LABEL)))
                and o.pid == cli.pid and o.host == host]

    try:
        _wait_for(lambda: any(c.status == "running" for c in cli_containers()), 180,
                  "the CLI run's tool container should be running")
        cli.send_signal(signal.SIGINT)  # Ctrl-C
        gone = _wait_for(lambda: not cli_containers(), 5, "the container should be gone")
        assert cli.wait(30) == 130, cli.stderr.read()[-2000:] if cli.stderr else ""
    finally:
        if cli.poll() is None:
            cli.kill()
        for container in cli_containers():
            container.remove(force=True)
    print(f"\n[sandbox] CLI container gone {gone:.2f} s after Ctrl-C")
    assert gone < 1.0


def test_a_container_whose_owner_died_is_swept_at_once_and_live_owners_are_kept(
    docker_client: Any, sandbox_image: str
) -> None:
    dead = subprocess.run([sys.executable, "-c", "from orchestrator.sandbox_owner import current; "
                           "print(current().label)"], cwd=ROOT, capture_output=True, text=True, check=True)
    dead_owner = dead.stdout.strip()
    assert Owner.parse(dead_owner) is not None and Owner.parse(dead_owner).alive() is False
    tag = f"graphwright.test={os.getpid()}-{time.monotonic_ns()}"
    sleep = ["python3", "-c", "import time; time.sleep(60)"]
    created = []
    for owner in (dead_owner, current().label):
        labels = {SANDBOX_LABEL: "1", OWNER_LABEL: owner, tag.split("=")[0]: tag.split("=")[1]}
        created.append(docker_client.containers.run(sandbox_image, sleep, detach=True, labels=labels,
                                                    network_mode="none"))
    try:
        assert remove_stale_containers(docker_client=docker_client, label=tag) == 1  # young, but its owner is gone
        left = docker_client.containers.list(all=True, filters={"label": tag})
        assert [c.id for c in left] == [created[1].id]  # this process is alive: its container stays
    finally:
        for container in created:
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already removed by the sweep
                pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data_dir: Path, port: int, base_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GRAPHWRIGHT_DATA_DIR": str(data_dir), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "OPENAI_API_KEY": "sk-test-orphan-0123456789abcdef", "GRAPHWRIGHT_OPENAI_API_BASE": base_url,
           "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9"}
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180  # a loaded shared machine starts it slowly
    while True:
        assert app.poll() is None, app.stderr.read()[-2000:] if app.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the app did not serve /healthz within 180 s"
        time.sleep(0.3)


@pytest.mark.slow
def test_the_container_of_an_app_killed_mid_tool_call_is_gone_soon_after_restart(
    docker_client: Any, sandbox_image: str, tmp_path: Path, llm_server: Any
) -> None:
    from gradio_client import Client

    llm_server.set_default(_calls_the_sleeper)
    data_dir = tmp_path / "data"
    port = _free_port()
    app = _serve(data_dir, port, llm_server.base_url)
    host = current().host

    def app_containers() -> list[Any]:
        listed = docker_client.containers.list(all=True, sparse=True, filters={"label": SANDBOX_LABEL})
        return [c for c in listed if (o := Owner.parse((c.attrs.get("Labels") or {}).get(OWNER_LABEL)))
                and o.pid == app.pid and o.host == host]

    try:
        Client(f"http://127.0.0.1:{port}", verbose=False).submit(
            _config(sandbox_image), "", True, "", *[""] * 8, *[False] * 8, api_name="/run")
        _wait_for(lambda: any(c.status == "running" for c in app_containers()), 180,
                  "the app's tool container should be running")
        os.kill(app.pid, signal.SIGKILL)
        app.wait(10)
    finally:
        if app.poll() is None:
            app.kill()
    assert app_containers(), "the killed app's container outlives it (nothing else removes it)"
    restarted = _serve(data_dir, port, llm_server.base_url)
    try:
        gone_after = _wait_for(lambda: not app_containers(), 30, "the orphan should be swept after the restart")
    finally:
        restarted.send_signal(signal.SIGINT)
        try:
            restarted.wait(20)
        except subprocess.TimeoutExpired:
            restarted.kill()
    print(f"\n[sandbox] orphan removed {gone_after:.1f} s after the restarted app served /healthz")
