"""`python app.py` as a process: serves `/healthz`, starts without the heavy libraries, and a second
app on the same data directory exits at once with a clear message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GRAPHWRIGHT_DATA_DIR=str(data_dir), GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    for platform_variable in ("GRADIO_SERVER_NAME", "SPACE_ID"):  # a local start, as from a fresh clone
        env.pop(platform_variable, None)
    return env


def test_importing_the_app_leaves_heavy_libraries_unloaded() -> None:
    code = ("import sys, app, ui.app, ui.run_tab, ui.design_tab;"
            "print(sorted(m for m in ('litellm', 'langgraph', 'mlflow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_app_serves_healthz_and_a_second_app_on_the_same_data_dir_exits(tmp_path: Path) -> None:
    port = _free_port()
    first = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=_env(tmp_path, port),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert first.poll() is None, first.stderr.read()[-2000:]
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the app did not serve /healthz within 90 s"
                time.sleep(0.3)
        assert reply.status_code == 200 and reply.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200

        started = time.monotonic()
        second = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=_env(tmp_path, _free_port()),
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "data directory is in use" in second.stderr and "GRAPHWRIGHT_DATA_DIR" in second.stderr
        assert time.monotonic() - started < 30
    finally:
        first.terminate()
        first.wait(20)
    log = first.stderr.read()
    assert f"listening on http://127.0.0.1:{port} (local start" in log, log[-2000:]


def test_the_app_opens_to_the_network_only_where_the_platform_needs_it() -> None:
    from ui.app import server_host

    assert server_host({})[0] == "127.0.0.1"
    assert server_host({"SPACE_ID": "someone/graphwright"}) == ("0.0.0.0", "a Hugging Face Space (SPACE_ID is set)")
    assert server_host({"GRADIO_SERVER_NAME": "0.0.0.0"})[0] == "0.0.0.0"  # what the Docker image sets
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "GRADIO_SERVER_NAME=0.0.0.0" in dockerfile


def test_the_page_asks_the_executor_on_load_for_a_run_going_on_elsewhere_in_local_mode_too(tmp_path) -> None:
    """One code path: whether there is a run to follow is the executor's answer (locally: none), not the page's mode."""
    import asyncio

    from ui.app import build_app
    from ui.services import AppServices
    from ui.session import Session

    services = AppServices.create(tmp_path)
    try:
        demo = build_app(services)
        on_load = [fn.fn.__name__ for fn in demo.fns.values() if fn.fn is not None]
        session = Session()

        async def found() -> list:
            return [event async for event in services.follow_running(session)]

        assert "follow_running" in on_load
        assert asyncio.run(found()) == []  # a local run lives in the page that started it: none elsewhere
    finally:
        services.close()
