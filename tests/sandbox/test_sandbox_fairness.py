"""One visitor's tool calls cannot slow another visitor's run down.

Visitor A fills its sandbox allowance (and queues more calls behind it); visitor B's plain offline
run, in the same process and event loop, must take no more than 1.3x its time alone. Sandbox calls,
Ollama detection and other blocking work each have their own pool, so B never waits behind A.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.credentials import Credentials
from orchestrator.workers import Workers
from schemas import load_workflow
from testkit.replies import Reply, ToolCallSpec

pytestmark = pytest.mark.docker

PLAIN = """\
version: 1
name: plain-offline
default_model: offline/synthetic
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: 'Write a short note about rivers.'}
  - {id: two, type: agent, agent: w, prompt: 'Summarise: {{ steps.one.output }}'}
"""


def _sleepy(image: str) -> str:
    return f"""\
version: 1
name: sleepy-tool
default_model: openai/gpt-4o-mini
tools:
  py: {{type: python, image: '{image}', timeout: 40, memory_mb: 64}}
agents: {{w: {{role: Coder, tools: [py]}}}}
steps:
  - {{id: work, type: agent, agent: w, prompt: 'sleep'}}
"""


def test_a_visitor_saturating_tool_calls_does_not_slow_another_visitors_run(
    docker_client: Any, sandbox_image: str, no_leftovers: None, own_containers: Any, data_dir: Path,
    llm_server: Any, llm_client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator.runner import Engine

    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0.01")  # B's run takes a few seconds, as in the app
    llm_server.set_default(lambda req: Reply(text="done") if any(m.get("role") == "tool" for m in req.messages)
                           else Reply(tool_calls=[ToolCallSpec("py", {"code": "import time; time.sleep(40)"})]))
    plain, sleepy = load_workflow(PLAIN, "plain.yaml"), load_workflow(_sleepy(sandbox_image), "sleepy.yaml")
    workers = Workers()  # one per process, as the app shares it between all sessions' engines
    visitor_a = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials, workers=workers)
    allowance = workers.sandbox_per_visitor
    figures: dict[str, float] = {}
    calls = min(32, (os.cpu_count() or 1) + 4) + 2  # more than A's allowance and asyncio's default pool

    async def run_b() -> float:
        engine = Engine(data_dir=data_dir, credentials=Credentials(), workers=workers)  # a fresh session
        started = time.perf_counter()
        events = [e async for e in engine.run(plain, {}, owner="visitor-b")]
        assert events[-1].type == "run_finished", events[-1]
        return time.perf_counter() - started

    async def scenario() -> None:
        await run_b()  # the first run of the process imports LiteLLM: not part of either figure
        figures["alone_s"] = await run_b()

        async def run_a() -> None:
            async for _ in visitor_a.run(sleepy, {}, owner="visitor-a"):
                pass

        a_runs = [asyncio.create_task(run_a()) for _ in range(calls)]
        while len(llm_server.requests) < calls or await asyncio.to_thread(running) < allowance:
            await asyncio.sleep(0.1)  # every A run has asked for its tool call; A's allowance is in use
        await asyncio.sleep(1.0)
        try:
            figures["a_containers"] = await asyncio.to_thread(running)
            figures["contended_s"] = await asyncio.wait_for(run_b(), timeout=60)
        finally:
            for task in a_runs:
                task.cancel()
            await asyncio.gather(*a_runs, return_exceptions=True)

    def running() -> int:
        return sum(c.status == "running" for c in own_containers())

    asyncio.run(scenario())
    slowdown = figures["contended_s"] / figures["alone_s"]
    print(f"\n[sandbox] visitor B alone {figures['alone_s']:.2f} s, beside A's {calls} tool calls "
          f"{figures['contended_s']:.2f} s: slowdown x{slowdown:.2f}; A's containers at once: "
          f"{figures['a_containers']:.0f}")
    assert figures["a_containers"] == allowance  # the rest of A's calls wait for A's own slots
    assert slowdown <= 1.3
