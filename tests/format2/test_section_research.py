"""open_deep_research's per-section subgraph, translated as a map with a several-step body (see the
YAML's header): offline through the CLI (with history rows), and over HTTP with scripted answers."""

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
CONFIG = HERE / "section_research.yaml"
BODY = ("queries", "research", "write", "grade", "refine", "publish")


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_offline_each_researched_section_runs_the_whole_body(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run([sys.executable, "-m", "graphwright", "run", str(CONFIG), "--json",
                           "--data-dir", str(tmp_path / "d")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    events = _events(done.stdout)
    outputs = events[-1]["outputs"]
    researched = [s for s in outputs["plan"]["sections"] if s["research"]]
    assert len(outputs["sections"]) == len(researched) >= 1
    assert [s["name"] for s in outputs["sections"]] == [s["name"] for s in researched]
    assert all(set(s) == {"name", "content", "grade"} and s["grade"] in ("pass", "fail") and s["content"]
               for s in outputs["sections"])
    assert set(outputs) == {"plan", "sections", "report"}  # body outputs stay inside their item
    finished = [e for e in events if e["type"] == "step_finished" and e["step_id"] in BODY]
    for step_id in ("queries", "refine", "publish"):
        assert sorted(e["item_index"] for e in finished if e["step_id"] == step_id) == list(range(len(researched)))
    assert all(e["duration_s"] > 0 for e in finished if e["step_id"] == "refine")

    from history.store import HistoryStore

    with HistoryStore.open(tmp_path / "d", mlflow=False) as store:
        rows = dict(store.read_cursor().execute(
            "SELECT step_id, count(*) FROM steps WHERE run_id = ? GROUP BY step_id", [events[0]["run_id"]]).fetchall())
    assert rows["queries"] == rows["publish"] == rows["refine"] == len(researched)
    assert rows["write"] == rows["grade"] == len([e for e in finished if e["step_id"] == "write"])
    assert rows["sections"] == rows["plan"] == rows["report"] == 1


def test_over_http_each_section_reads_its_own_queries_and_drafts(tmp_path: Path, llm_server, llm_client,
                                                                credentials) -> None:
    sections = [{"name": "Trees", "description": "shade from street trees", "research": True},
                {"name": "Intro", "description": "why it matters", "research": False},
                {"name": "Roofs", "description": "cool roofs", "research": True}]
    graded: dict[str, int] = {}

    def answer(request) -> Reply:
        prompt = request.messages[-1]["content"]
        if prompt.startswith("Plan the sections"):
            return Reply(text=json.dumps({"sections": sections}))
        if prompt.startswith("Search queries"):
            name = prompt.split('"')[1]
            return Reply(text=json.dumps({"queries": [f"{name} q1", f"{name} q2"]}))
        if prompt.startswith("Answer these searches"):
            return Reply(text="notes on " + prompt.split('"')[1].split(" q1")[0])
        if prompt.startswith("Write the section"):
            return Reply(text="draft of " + prompt.split('"')[1])
        if prompt.startswith("Grade this section"):
            about = prompt.split("about ")[1].split(":")[0]
            graded[about] = graded.get(about, 0) + 1
            fail = about == "shade from street trees" and graded[about] == 1  # Trees needs a second round
            return Reply(text=json.dumps({"grade": "fail" if fail else "pass",
                                          "followUpQueries": ["tree species"] if fail else []}))
        return Reply(text="the report")

    llm_server.set_default(answer)
    engine = Engine(data_dir=tmp_path / "data", client=llm_client, credentials=credentials,
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[])

    async def run() -> list:
        return [e async for e in engine.run(load_workflow_file(CONFIG), {})]

    events = asyncio.run(run())
    assert events[-1].type == "run_finished", events[-1]
    assert events[-1].outputs["sections"] == [
        {"name": "Trees", "content": "draft of Trees", "grade": "pass"},
        {"name": "Roofs", "content": "draft of Roofs", "grade": "pass"},
    ]
    prompts = [r.messages[-1]["content"] for r in llm_server.requests]
    research = sorted(p for p in prompts if p.startswith("Answer these searches"))
    assert research == ['Answer these searches: ["Roofs q1","Roofs q2"] ',
                        'Answer these searches: ["Trees q1","Trees q2"] ',
                        'Answer these searches: ["Trees q1","Trees q2"] ["tree species"]']
    assert graded == {"shade from street trees": 2, "cool roofs": 1}
    rounds = {e.item_index: e.iterations for e in events if e.type == "step_finished" and e.step_id == "refine"}
    assert rounds == {0: 2, 1: 1}
    assert len(prompts) == 1 + 2 + (3 * 2 + 3) + 1  # plan, queries, (research, write, grade) per round, report
    assert events[-1].tokens_in == sum(e.tokens_in for e in events if e.type == "llm_call")
