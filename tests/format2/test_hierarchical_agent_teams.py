"""LangGraph's hierarchical agent teams, translated (see the YAML's header), run offline step by step.

Each model call is scripted per step (a worker agent answers under its supervisor's step), so the
test checks what every step produces and what every worker reads through the shared conversation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow_file
from tests.orchestrator.scripted import Say, ScriptedClient

CONFIG = Path(__file__).with_name("hierarchical_agent_teams.yaml")


def _ask(worker: str, task: str) -> Say:
    return Say(tool_calls=[(worker, {"task": task})])


def test_the_top_supervisor_delegates_to_two_teams_that_each_run_their_own_supervisor(tmp_path: Path) -> None:
    client = ScriptedClient(by_step={
        "top": [_ask("research_team", "Find what AI agents are and recent examples"),
                _ask("writing_team", "Write a brief report on AI agents from the research"),
                Say("Report: AI agents plan and use tools; see the chart of adoption.")],
        "research": [_ask("search", "AI agents 2026"), Say("Agents plan and call tools (3 sources)"),
                     _ask("web_scraper", "read the 3 sources"), Say("Sources agree: planning, tools, memory"),
                     Say("Research: agents plan, use tools and keep memory")],
        "writing": [_ask("note_taker", "outline the report"), Say("1. What agents are 2. Examples"),
                    _ask("doc_writer", "write from the outline"), Say("AI agents are programs that plan..."),
                    _ask("chart_generator", "chart for the report"), Say("Bar chart: adoption by year"),
                    Say("Document written with a chart")],
    })
    engine = Engine(data_dir=tmp_path, client=client, credentials=Credentials(keys={"openai": "sk-test-not-used"}),
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[])

    async def run() -> list:
        return [e async for e in engine.run(load_workflow_file(CONFIG), {})]

    events = asyncio.run(run())
    finished = events[-1]
    assert finished.type == "run_finished", finished
    assert finished.outputs == {
        "research": "Research: agents plan, use tools and keep memory",
        "writing": "Document written with a chart",
        "top": "Report: AI agents plan and use tools; see the chart of adoption.",
    }
    requests = {(r.step_id, r.messages[0]["content"].split(".")[0]): r for r in client.requests}
    # The web scraper reads the research team's conversation: its task and the search's answer.
    scraper = requests[("research", "You are Web scraper")].messages[-1]["content"]
    assert "[task] " in scraper and "Find what AI agents are" in scraper
    assert "[search] Agents plan and call tools (3 sources)" in scraper
    # The writing team's sub-task carries the top-level conversation, research answer included.
    writing_task = next(r for r in client.requests if r.step_id == "writing").messages[1]["content"]
    assert "[research_team] Research: agents plan, use tools and keep memory" in writing_task
    assert writing_task.endswith("Your sub-task: Write a brief report on AI agents from the research")
    # The doc writer reads the note taker's outline; the top supervisor reads both teams' answers.
    doc_writer = requests[("writing", "You are Document writer")].messages[-1]["content"]
    assert "[note_taker] 1. What agents are 2. Examples" in doc_writer
    top_reads = [m["content"] for m in client.requests[-1].messages if m["role"] == "tool"]
    assert top_reads == ["Research: agents plan, use tools and keep memory", "Document written with a chart"]
    order = [(e.type, e.step_id) for e in events if e.type in ("step_started", "step_finished")]
    assert order == [("step_started", "top"), ("step_started", "research"), ("step_finished", "research"),
                     ("step_started", "writing"), ("step_finished", "writing"), ("step_finished", "top")]
    client.assert_all_used()
