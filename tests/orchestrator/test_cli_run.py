"""The `graphwright run/resume` commands, including resuming a run whose process was killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from engine_testing import TEST_API_KEY_ENV

from schemas import load_workflow_file
from schemas.versions import config_hash
from testkit.replies import Reply

ROOT = Path(__file__).resolve().parents[2]
TWO_STEPS = textwrap.dedent("""
    version: 1
    name: two-steps
    default_model: openai/gpt-4o-mini
    inputs: {topic: {}}
    agents: {w: {role: Writer}}
    steps:
      - {id: one, type: agent, agent: w, prompt: 'one {{ inputs.topic }}'}
      - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
""")


def _env(server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"OPENAI_API_KEY": TEST_API_KEY_ENV, "GRAPHWRIGHT_OPENAI_API_BASE": server.base_url,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphwright", *args]


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_run_streams_json_events_and_exits_zero(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    llm_server.script(Reply(text="first"), Reply(text="second"))
    done = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--input", "topic=tides", "--json",
                               "--data-dir", str(tmp_path / "d")),
                          env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    events = _events(done.stdout)
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
    assert events[-1]["outputs"] == {"one": "first", "two": "second"}
    assert llm_server.requests[0].messages[-1]["content"] == "one tides"

    from history.store import HistoryStore  # the run is in run history too

    with HistoryStore.open(tmp_path / "d", mlflow=False) as store:
        row = store.read_cursor().execute("SELECT status, workflow FROM runs WHERE run_id = ?",
                                          [events[0]["run_id"]]).fetchone()
    assert row == ("finished", "two-steps")


def test_run_reports_bad_input_and_a_failed_run_with_nonzero_status(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    missing = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--data-dir", str(tmp_path / "d")),
                             env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert missing.returncode == 1
    assert "input `topic` is required" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nname: x\nagents: {}\nsteps: []\n")
    invalid = subprocess.run(_cli("run", str(broken)), env=_env(llm_server), capture_output=True, text=True,
                             timeout=240, cwd=ROOT)
    assert invalid.returncode == 2 and "broken.yaml:" in invalid.stderr


def test_an_input_holding_the_key_is_refused_naming_the_input(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    done = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--input", f"topic=tides {TEST_API_KEY_ENV}",
                               "--data-dir", str(tmp_path / "d")),
                          env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 2 and "input `topic` contains an API key" in done.stderr
    assert "OPENAI_API_KEY" in done.stderr and TEST_API_KEY_ENV not in done.stderr + done.stdout
    assert llm_server.requests == []


def test_a_killed_run_resumes_from_its_checkpoint(tmp_path: Path, llm_server) -> None:
    """kill -9 during step two; `resume` runs step two again (the documented cost) but not step one."""
    (tmp_path / "wf.yaml").write_text(TWO_STEPS)
    llm_server.script(Reply(text="first"), Reply(text="never arrives", latency=120))
    child = subprocess.Popen(_cli("run", str(tmp_path / "wf.yaml"), "-i", "topic=tides", "--json",
                                  "--data-dir", str(tmp_path / "d")),
                             env=_env(llm_server), stdout=subprocess.PIPE, text=True, cwd=ROOT)
    seen = []
    assert child.stdout is not None
    for line in child.stdout:
        seen.append(json.loads(line))
        if seen[-1]["type"] == "step_started" and seen[-1]["step_id"] == "two":
            break
    deadline = time.monotonic() + 60
    while len(llm_server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    run_id = seen[0]["run_id"]

    llm_server.script(Reply(text="second"))
    resumed = subprocess.run(_cli("resume", run_id, "--json", "--data-dir", str(tmp_path / "d")),
                             env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    events = _events(resumed.stdout)
    assert events[0]["type"] == "run_started" and events[0]["resumed"] is True
    assert [e["step_id"] for e in events if e["type"] == "step_started"] == ["two"]
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["outputs"] == {"one": "first", "two": "second"}
    assert [r.messages[-1]["content"] for r in llm_server.requests] == ["one tides", "two first", "two first"]
    assert min(e["seq"] for e in events) > max(e["seq"] for e in seen)


def test_approvals_are_asked_on_the_terminal(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""
        version: 1
        name: approve
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        steps:
          - {id: ok, type: approval, message: 'Go ahead?'}
          - {id: go, type: agent, agent: w, prompt: 'go {{ steps.ok.output.feedback }}'}
    """))
    llm_server.script(Reply(text="went"))
    answered = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--data-dir", str(tmp_path / "d")),
                              input="y\nship it\n", env=_env(llm_server), capture_output=True, text=True,
                              timeout=240, cwd=ROOT)
    assert answered.returncode == 0, answered.stderr[-2000:]
    assert "? ok: Go ahead?" in answered.stdout and "approved: ship it" in answered.stdout
    assert llm_server.requests[-1].messages[-1]["content"] == "go ship it"

    waiting = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--data-dir", str(tmp_path / "d"), "--json"),
                             input="", env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert waiting.returncode == 3 and "graphwright resume" in waiting.stderr
    assert _events(waiting.stdout)[-1]["type"] == "run_interrupted"


def test_questions_are_asked_on_the_terminal_until_the_answer_fits(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""
        version: 2
        name: ask
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        steps:
          - {id: size, type: ask, question: 'How long?', choices: [short, long]}
          - {id: go, type: agent, agent: w, prompt: 'write it {{ steps.size.output }}'}
    """))
    llm_server.script(Reply(text="written"))
    answered = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--data-dir", str(tmp_path / "d"), "--json"),
                              input="medium\nLONG\n", env=_env(llm_server), capture_output=True, text=True,
                              timeout=240, cwd=ROOT)
    assert answered.returncode == 0, answered.stderr[-2000:]
    assert "Question from `size`: How long?" in answered.stderr and "not one of the choices" in answered.stderr
    assert all(line.startswith("{") for line in answered.stdout.splitlines())  # prompts never in the JSON
    assert llm_server.requests[-1].messages[-1]["content"] == "write it long"

    waiting = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--data-dir", str(tmp_path / "d"), "--json"),
                             input="", env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert waiting.returncode == 3 and "--answer TEXT" in waiting.stderr
    run_id = _events(waiting.stdout)[-1]["run_id"]
    llm_server.script(Reply(text="brief"))
    resumed = subprocess.run(_cli("resume", run_id, "--answer", "short", "--data-dir", str(tmp_path / "d")),
                             env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert llm_server.requests[-1].messages[-1]["content"] == "write it short"


def test_json_mode_keeps_prompts_off_stdout_and_model_overrides_every_model(tmp_path: Path, llm_server) -> None:
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""
        version: 1
        name: own-models
        default_model: openai/gpt-4.1-mini
        agents:
          w: {role: Writer, model: openai/gpt-4o}
          e: {role: Editor}
        steps:
          - {id: draft, type: agent, agent: w, prompt: 'draft'}
          - {id: ok, type: approval, message: 'Go ahead?'}
          - {id: edit, type: agent, agent: e, prompt: 'edit {{ steps.draft.output }}'}
    """))
    llm_server.script(Reply(text="drafted"), Reply(text="edited"))
    done = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--json", "--model", "openai/gpt-4o-mini",
                               "--data-dir", str(tmp_path / "d")),
                          input="y\nfine\n", env=_env(llm_server), capture_output=True, text=True, timeout=240,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("{") for line in lines), "stdout is JSON lines only"
    assert "Approve? [y/N]" in done.stderr
    assert [r.model for r in llm_server.requests] == ["gpt-4o-mini", "gpt-4o-mini"]
    notes = [e["message"] for e in _events(done.stdout) if e["type"] == "warning"]
    assert any("openai/gpt-4o-mini" in n and "openai/gpt-4o`" in n and "openai/gpt-4.1-mini" in n for n in notes)

    listed = subprocess.run(_cli("runs", "--data-dir", str(tmp_path / "d")), env=_env(llm_server),
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    run_id = _events(done.stdout)[0]["run_id"]
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(run_id))
    assert "own-models" in row and "finished" in row and "$" in row
    assert listed.stdout.splitlines()[0].split() == ["run", "id", "workflow", "version", "status", "started", "cost"]
    assert row.split()[2] == config_hash(load_workflow_file(tmp_path / "wf.yaml"))[:8]  # the config version it ran


def test_the_terminal_trace_nests_map_items_and_settles_them(tmp_path: Path, llm_server) -> None:
    env = {**_env(llm_server), "GRAPHWRIGHT_OFFLINE_TOKEN_DELAY": "0"}
    done = subprocess.run(_cli("run", str(ROOT / "examples" / "map_topics.yaml"), "--model", "offline/synthetic",
                               "--no-history", "--data-dir", str(tmp_path / "d")),
                          env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    started = [line for line in done.stdout.splitlines() if line.startswith("  ● section [item ")]
    finished = [line for line in done.stdout.splitlines() if line.startswith("  ✓ section [item ")]
    assert len(started) == len(finished) >= 2
    assert sorted(line.split("]")[0][4:] for line in started) == sorted(line.split("]")[0][4:] for line in finished)


def test_a_missing_sandbox_image_is_warned_before_the_run(tmp_path: Path, llm_server) -> None:
    from orchestrator.sandbox import docker_available

    if not docker_available(timeout=3.0):
        import pytest

        pytest.skip("no Docker daemon reachable")
    (tmp_path / "wf.yaml").write_text(textwrap.dedent("""
        version: 1
        name: code
        tools: {calc: {type: python, description: Run code, image: 'graphwright-not-here:0'}}
        agents: {a: {role: Analyst, tools: [calc]}}
        steps:
          - {id: answer, type: agent, agent: a, prompt: 'two plus two'}
    """))
    llm_server.script(Reply(text="4"))
    done = subprocess.run(_cli("run", str(tmp_path / "wf.yaml"), "--model", "openai/gpt-4o-mini", "--no-history",
                               "--data-dir", str(tmp_path / "d")),
                          env=_env(llm_server), capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert "warning: The sandbox image 'graphwright-not-here:0' is not on this machine" in done.stderr
