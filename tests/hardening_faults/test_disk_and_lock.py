"""The data directory under stress: a second app on it, and a disk that fills up mid-service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faults_testing import ROOT, collect, workflow

from history.store import HistoryStore
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from testkit.replies import Reply

SMALL = """
    version: 1
    name: small
    default_model: openai/gpt-4o-mini
    agents: {w: {role: Writer}}
    steps:
      - {id: one, type: agent, agent: w, prompt: 'one %s'}
      - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_env(data_dir: Path, port: int) -> dict[str, str]:
    return {**os.environ, "GRAPHWRIGHT_DATA_DIR": str(data_dir), "GRADIO_SERVER_PORT": str(port),
            "GRADIO_ANALYTICS_ENABLED": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def test_a_second_app_on_the_same_data_dir_exits_at_once_naming_the_lock(tmp_path: Path, report) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    first = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=_app_env(data_dir, port),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert first.poll() is None, first.stderr.read()[-2000:] if first.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the first app did not serve /healthz within 90 s"
            time.sleep(0.3)
        started = time.monotonic()
        second = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=_app_env(data_dir, _free_port()),
                                capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        assert second.returncode != 0
        assert str(data_dir / "graphwright.lock") in second.stderr and f"process {first.pid}" in second.stderr
        assert took < 10, f"the second app took {took:.1f} s to give up"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200  # the first goes on
    finally:
        first.terminate()
        first.wait(20)
    report.add("second_app", exit_code=second.returncode, exit_s=round(took, 2))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (root only), else skip: RLIMIT_FSIZE would kill the test process itself."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_fails_the_run_clearly_and_the_app_keeps_serving(tiny_disk: Path, llm_server, llm_client,
                                                                     report) -> None:
    from orchestrator.errors import DiskFull

    data_dir = tiny_disk / "data"
    llm_server.set_default(lambda req: Reply(text="fine " * 50, chunk_delay=0.001))
    store = HistoryStore.open(data_dir, mlflow=False)
    filler: list[Path] = []

    def fill_after_step_one(event: object) -> None:
        if getattr(event, "type", "") == "step_finished" and getattr(event, "step_id", "") == "one" and not filler:
            filler.append(_fill(tiny_disk))  # the disk fills up while the run is in flight

    try:
        engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials, policy=Policy(),
                        sinks=[store.sink, fill_after_step_one])
        events = collect(engine.run(workflow(SMALL % ("b" * 2000)), {}, run_id="mid-run"))
        last = events[-1]
        assert last.type == "run_failed", last
        assert last.reason == "disk_full" and "disk" in last.message and "free some disk space" in last.message
        with pytest.raises(DiskFull, match="is full.*free some disk space"):  # no room for a new run at all
            collect(engine.run(workflow(SMALL % "c"), {}, run_id="no-room"))

        filler[0].unlink()  # space again: the same app serves new runs and resumes the failed one
        after = collect(engine.run(workflow(SMALL % "d"), {}, run_id="after"))
        assert after[-1].type == "run_finished", after[-1]
        resumed = collect(engine.resume("mid-run"))
        assert resumed[-1].type == "run_finished" and set(resumed[-1].outputs) == {"one", "two"}
        assert store.flush(30)
        statuses = dict(store.read_cursor().execute("SELECT run_id, status FROM runs").fetchall())
    finally:
        store.close()
    assert statuses == {"mid-run": "finished", "after": "finished"}
    report.add("disk_full", runs=3, failed_clearly=2, served_after=2, reason=last.reason)
