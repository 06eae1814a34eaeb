"""LangGraph's plan-and-execute tutorial, translated (see the YAML's header): offline and over HTTP.

It needs structured output with lists of objects, list functions in templates and data across loop
rounds (`loop.previous`, `loop.history`), so it runs end to end through each of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow_file
from testkit.replies import Reply

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIG = HERE / "plan_and_execute.yaml"


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_it_runs_offline_and_every_step_produces_its_declared_shape(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run([sys.executable, "-m", "graphwright", "run", str(CONFIG), "--json",
                           "--data-dir", str(tmp_path / "d")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    events = _events(done.stdout)
    outputs = events[-1]["outputs"]
    plan = outputs["plan"]["steps"]
    assert plan and all(set(s) == {"task", "needsSearch", "priority"} for s in plan)
    assert all(s["priority"] in ("high", "normal") and isinstance(s["needsSearch"], bool) for s in plan)
    replan = outputs["replan"]
    assert isinstance(replan["done"], bool) and all(set(r) == {"task"} for r in replan["remaining"])
    assert isinstance(outputs["act"], str) and isinstance(outputs["answer"], str)
    rounds = [e for e in events if e["type"] == "step_started" and e["step_id"] == "act"]
    assert [e["iteration"] for e in rounds] == list(range(1, len(rounds) + 1)) and 1 <= len(rounds) <= 4

    from history.store import HistoryStore

    with HistoryStore.open(tmp_path / "d", mlflow=False) as store:
        rows = store.read_cursor().execute(
            "SELECT step_id, iteration FROM steps WHERE run_id = ? AND step_id = 'act' ORDER BY iteration",
            [events[0]["run_id"]]).fetchall()
    assert rows == [("act", n) for n in range(1, len(rounds) + 1)]


def test_over_http_each_round_sees_the_last_plan_and_every_earlier_result(tmp_path: Path, llm_server,
                                                                         llm_client, credentials) -> None:
    steps = [{"task": "find the winner", "needsSearch": True, "priority": "high"},
             {"task": "find the hometown", "needsSearch": True, "priority": "normal"}]
    llm_server.script(
        Reply(text=json.dumps({"steps": steps})),
        Reply(text="Jannik Sinner won"),
        Reply(text=json.dumps({"done": False, "remaining": [{"task": "find Sinner's hometown"}]})),
        Reply(text="Sinner is from Sexten"),
        Reply(text=json.dumps({"done": True, "response": "Sexten, Italy", "remaining": []})),
        Reply(text="The winner's hometown is Sexten, Italy."),
    )
    engine = Engine(data_dir=tmp_path / "data", client=llm_client, credentials=credentials,
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[])

    async def run() -> list:
        return [e async for e in engine.run(load_workflow_file(CONFIG), {})]

    events = asyncio.run(run())
    assert events[-1].type == "run_finished", events[-1]
    assert all(not e.synthetic for e in events if e.type == "llm_call")
    prompts = [r.messages[-1]["content"] for r in llm_server.requests]
    assert "Plan: find the winner; find the hometown" in prompts[1]
    assert "Steps still to do after the last round (empty in round 1: start with the plan's first step): \n" in prompts[1]
    assert "Done so far (0 steps): \n" in prompts[1]
    assert "Steps still to do after the last round (empty in round 1: start with the plan's first step): find Sinner's hometown" in prompts[3]
    assert "Done so far (1 steps): Jannik Sinner won" in prompts[3] and "round 2" in prompts[3]
    assert "Answer: Sexten, Italy" in prompts[5]
    assert "The first high-priority step was: find the winner" in prompts[5]
    assert events[-1].outputs["replan"] == {"done": True, "response": "Sexten, Italy", "remaining": []}
    llm_server.assert_all_used()
