"""Every example runs on a worker through Temporal with the same events and totals as in-process."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from runs_testing import ROOT, TEST_KEY, Cluster, drain

from orchestrator.credentials import Credentials
from orchestrator.deployment import Deployment
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
    return (end.type, end.tokens_in, end.tokens_out, round(end.cost_usd, 8), len(calls), streamed(events))


def streamed(events: list) -> dict[str | None, Counter]:
    """Each step's streamed characters: token events are joined by time (20 ms windows) and parallel
    branches and map items interleave theirs, so only what was streamed per step is timing-free."""
    per_step: dict[str | None, Counter] = {}
    for e in events:
        if e.type == "token":
            per_step.setdefault(e.step_id, Counter()).update(e.text)
    return per_step


def secrets_env(wf) -> dict[str, str]:
    from orchestrator.named_secrets import needed_secrets

    return {name: "placeholder-not-a-key" for name in needed_secrets(wf)}


def credentials_for(base_url: str, wf) -> Credentials:
    credentials = Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": base_url})
    for name, value in secrets_env(wf).items():
        credentials = credentials.with_secret(name, value)
    return credentials


@pytest.fixture(scope="module")
def examples_cluster(worker_zygote, temporal_server, postgres_server, tmp_path_factory,
                     _llm_server_session) -> Iterator[Cluster]:
    """One worker for every example (each example's named secrets set in its environment)."""
    data = tmp_path_factory.mktemp("examples") / "data"
    data.mkdir()
    slice_ = Cluster(temporal_server.address, postgres_server.create_database("gw_examples"), data,
                     _llm_server_session.base_url, zygote=worker_zygote)
    for path in EXAMPLES:
        slice_.extra_env.update(secrets_env(load_workflow_file(path)))
    slice_.start_worker()
    yield slice_
    slice_.stop()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_on_a_worker_as_it_runs_in_process(path: Path, examples_cluster, llm_server,
                                                              tmp_path) -> None:
    wf = load_workflow_file(path)
    llm_server.set_default(plausible)
    credentials = credentials_for(llm_server.base_url, wf)
    local_engine = Engine(data_dir=tmp_path / "local", credentials=credentials, policy=POLICY, deployment=Deployment())
    local = asyncio.run(to_the_end(local_engine, wf))
    local_calls = len(llm_server.requests)

    executor = examples_cluster.executor(examples_cluster.app_engine(credentials, POLICY))
    remote = asyncio.run(to_the_end(executor, wf))

    assert remote[-1].type == "run_finished", (remote[-1], examples_cluster.worker_log(0))
    assert shape(remote) == shape(local), examples_cluster.worker_log(0)
    assert totals(remote) == totals(local)
    assert len(llm_server.requests) == 2 * local_calls  # each model call made once, on the worker
    seqs = [e.seq for e in remote]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
