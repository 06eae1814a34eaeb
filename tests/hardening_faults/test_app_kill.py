"""The real app (`python app.py`, driven by `gradio_client`) killed with SIGKILL while a run streams."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from faults_testing import ROOT, collect
from test_disk_and_lock import _app_env, _free_port

from history.recovery import record_unrecorded_runs
from history.store import HistoryStore
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from testkit.replies import Reply

CONFIG = """\
version: 1
name: killed-app
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: one}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
"""


def _serve(data_dir: Path, port: int, base_url: str) -> subprocess.Popen[str]:
    env = {**_app_env(data_dir, port), "OPENAI_API_KEY": "sk-test-app-kill-0123456789abcdef",
           "GRAPHWRIGHT_OPENAI_API_BASE": base_url, "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9"}
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while True:
        assert app.poll() is None, app.stderr.read()[-2000:] if app.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the app did not serve /healthz within 90 s"
        time.sleep(0.3)


@pytest.mark.slow
def test_the_real_app_killed_mid_run_leaves_a_resumable_run(tmp_path: Path, llm_server, llm_client, report) -> None:
    from gradio_client import Client

    data_dir = tmp_path / "data"
    stalled = {"on": True}

    def model(req: object) -> Reply:
        prompt = str(req.messages[-1]["content"])  # type: ignore[attr-defined]
        if prompt.startswith("two"):
            return Reply(text="never sent", latency=60) if stalled["on"] else Reply(text="second")
        return Reply(text="first")

    llm_server.set_default(model)
    port = _free_port()
    app = _serve(data_dir, port, llm_server.base_url)
    try:
        client = Client(f"http://127.0.0.1:{port}", verbose=False)
        client.submit(CONFIG, "", False, "", *[""] * 8, *[False] * 8, api_name="/run")
        deadline = time.monotonic() + 60
        while not any(r.messages[-1]["content"] == "two first" for r in list(llm_server.requests)):
            assert time.monotonic() < deadline, "the run did not reach step two"
            time.sleep(0.05)
        os.kill(app.pid, signal.SIGKILL)
        app.wait(10)
    finally:
        if app.poll() is None:
            app.kill()
    with HistoryStore.open(data_dir, mlflow=False) as store:  # the next start, as `AppServices.create` does it
        record_unrecorded_runs(store, data_dir)
        (run_id, status, reason), = store.read_cursor().execute("SELECT run_id, status, reason FROM runs").fetchall()
        assert (status, reason) == ("interrupted", "process_died")
        stalled["on"] = False
        engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials, policy=Policy(),
                        sinks=[store.sink])
        events = collect(engine.resume(run_id))
        assert events[-1].type == "run_finished", events[-1]
        assert events[-1].outputs == {"one": "first", "two": "second"}
        assert [e.step_id for e in events if e.type == "step_started"] == ["two"]  # step one is not redone
        assert store.flush(10)
        assert store.read_cursor().execute("SELECT status FROM runs").fetchone()[0] == "finished"
    report.add("real_app_kill9", kills=1, app_starts=1, resumed=1)
