"""Every example runs on a worker through Temporal with the same events and totals as in-process."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from runs_testing import ROOT, TEST_KEY, drain

from orchestrator.credentials import Credentials
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from schemas import load_workflow_file
from testkit.replies import Reply, ToolCallSpec

pytestmark = pytest.mark.cluster

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
POLICY = Policy(default_model="openai/gpt-4o-mini")


def plausible(request) -> Reply:
    """A schema-following, tool-calling answer to any request (the offline synthesiser's logic)."""
    reply = synthesize(request.messages, request.tools)
    if reply.tool_name:
        return Reply(tool_calls=[ToolCallSpec(reply.tool_name, reply.tool_arguments)])
    return Reply(text=reply.text)


async def to_the_end(executor, wf) -> list:
    """Run, approving every approval (answering each question with its first choice) on the way."""
    events = await drain(executor.run(wf, {}))
    while events[-1].type == "run_interrupted":
        asked = [e for e in events if e.type == "approval_requested"][-1]
        answer = asked.choices[0] if asked.choices else "fine"
        events += await drain(executor.resume(events[-1].run_id, approval=ApprovalDecision(True, answer)))
    return events


def shape(events: list) -> Counter:
    """What happened, independent of timing: each event's kind and step (tokens as their text)."""
    return Counter((e.type, getattr(e, "step_id", None), getattr(e, "status", None) or getattr(e, "reason", None))
                   for e in events if e.type != "token")


def totals(events: list) -> tuple:
    end = events[-1]
    calls = [e for e in events if e.type == "llm_call"]
    return (end.type, end.tokens_in, end.tokens_out, round(end.cost_usd, 8), len(calls),
            "".join(t.text for t in events if t.type == "token"))


def secrets_env(wf) -> dict[str, str]:
    from orchestrator.named_secrets import needed_secrets

    return {name: "placeholder-not-a-key" for name in needed_secrets(wf)}


def local_engine(data_dir: Path, base_url: str, wf) -> Engine:
    credentials = Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": base_url})
    for name, value in secrets_env(wf).items():
        credentials = credentials.with_secret(name, value)
    return Engine(data_dir=data_dir, credentials=credentials, policy=POLICY)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_on_a_worker_as_it_runs_in_process(path: Path, cluster, llm_server, tmp_path) -> None:
    wf = load_workflow_file(path)
    llm_server.set_default(plausible)
    local = asyncio.run(to_the_end(local_engine(tmp_path / "local", llm_server.base_url, wf), wf))
    local_calls = len(llm_server.requests)

    cluster.extra_env.update(secrets_env(wf))
    cluster.start_worker()
    app_engine = local_engine(cluster.data_dir, llm_server.base_url, wf)
    remote = asyncio.run(to_the_end(cluster.executor(app_engine), wf))

    assert remote[-1].type == "run_finished", (remote[-1], cluster.worker_log(0))
    assert shape(remote) == shape(local), cluster.worker_log(0)
    assert totals(remote) == totals(local)
    assert len(llm_server.requests) == 2 * local_calls  # each model call made once on the worker
    seqs = [e.seq for e in remote]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
