"""Replaying a past run on another model: only the chosen step executions reach the model (counted at
the loopback server), every other output is served from the record, and what cannot be replayed
faithfully is refused with the reason."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from history.replay_compare import compare
from history.replay_plan import Pick, ReplayRefused, prepare_replay
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from schemas import load_workflow, load_workflow_file
from testkit.replies import Reply

ROOT = Path(__file__).resolve().parents[2]
CHEAP, OTHER = "openai/gpt-4o-mini", "openai/gpt-4o"
WORKFLOW = """
version: 2
name: replay-demo
default_model: openai/gpt-4o-mini
inputs: {topics: {type: list, default: [rain, snow]}}
agents:
  w: {role: Writer}
steps:
  - {id: plan, type: agent, agent: w, prompt: 'plan {{ inputs.topics }}'}
  - id: each
    type: map
    over: '{{ inputs.topics }}'
    as: topic
    steps:
      - {id: draft, type: agent, agent: w, prompt: 'draft {{ topic }}'}
  - id: polish
    type: loop
    max_iterations: 2
    until: 'false'
    steps:
      - {id: edit, type: agent, agent: w, prompt: 'edit {{ steps.each.output }}'}
  - id: both
    type: parallel
    branches:
      - {id: left, type: agent, agent: w, prompt: 'left side'}
      - {id: right, type: agent, agent: w, prompt: 'right side'}
  - {id: final, type: agent, agent: w, prompt: 'final {{ steps.left.output }} {{ steps.right.output }}'}
"""
OWNER = "alice"


def _tagged(req: Any) -> Reply:
    """The answer names the model, so a replayed step's output visibly changes."""
    return Reply(text=f"[{req.model}] {str(req.messages[-1]['content'])[:40]}")


def _run(engine: Engine, stream: Any) -> list[Any]:
    async def drain() -> list[Any]:
        return [e async for e in stream]

    return asyncio.run(drain())


@pytest.fixture
def setup(data_dir: Path, llm_server: Any, credentials: Credentials, llm_client: Any) -> Any:
    llm_server.set_default(_tagged)
    store = HistoryStore.open(data_dir, mlflow=False)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials,
                    policy=Policy(default_model=CHEAP), sinks=[store.sink])
    yield store, engine, llm_server
    store.close()


def _source(store: HistoryStore, engine: Engine, text: str = WORKFLOW, owner: str = OWNER) -> str:
    events = _run(engine, engine.run(load_workflow(textwrap.dedent(text), "t.yaml"), {}, owner=owner))
    assert events[-1].type == "run_finished", events[-1]
    store.flush(10)
    return events[-1].run_id


def _replay(store: HistoryStore, engine: Engine, source: str, *picks: str, **kw: Any) -> Any:
    prepared = prepare_replay(store.read_cursor(), engine.store, source, OWNER, [Pick.parse(p) for p in picks], **kw)
    events = _run(engine, engine.run(prepared.workflow, prepared.inputs, owner=OWNER, replay=prepared.plan))
    store.flush(10)
    return events


@pytest.mark.parametrize(("pick", "prompt", "where"), [
    ("final", "final [gpt-4o-mini] left side [gpt-4o-mini] right side", ""),  # its inputs: served outputs
    ("draft@item=1", "draft snow", "item 1"),
    ("edit@round=2", 'edit ["[gpt-4o-mini] draft rain","[gpt-4o-mini] draft snow"]', "round 2"),
    ("right", "right side", ""),
])  # fmt: skip
def test_only_the_chosen_execution_calls_the_model_every_other_step_is_served(setup: Any, pick: str, prompt: str,
                                                                              where: str) -> None:
    store, engine, server = setup
    source = _source(store, engine)
    assert len(server.requests) == 8  # plan, 2 drafts, 2 edits, left, right, final
    server.reset()
    server.set_default(_tagged)

    events = _replay(store, engine, source, f"{pick}={OTHER}")

    assert events[-1].type == "run_finished"
    assert [(r.model, r.messages[-1]["content"]) for r in server.requests] == [("gpt-4o", prompt)]
    step_id = pick.split("@")[0]
    result = compare(store.read_cursor(), events[-1].run_id, OWNER)
    assert result.source_run_id == source
    [row] = result.steps
    assert (row.step_id, row.where, row.before.model, row.after.model) == (step_id, where, CHEAP, OTHER)
    assert row.before.output.startswith("[gpt-4o-mini]") and row.after.output.startswith("[gpt-4o]")
    assert "-[gpt-4o-mini]" in row.diff and "+[gpt-4o]" in row.diff
    assert row.after.tokens_in > 0 and row.after.cost_usd > 0
    calls = [e for e in events if e.type == "llm_call"]
    assert len(calls) == 1 and events[-1].cost_usd == pytest.approx(calls[0].cost_usd)
    served = store.read_cursor().execute(
        "SELECT count(*) FILTER (WHERE served), count(*) FILTER (WHERE NOT served AND step_type = 'agent')"
        " FROM steps WHERE run_id = ?", [events[-1].run_id]).fetchone()
    assert served == (7, 1)


def test_every_step_on_another_model_reruns_every_call_and_keeps_the_run_shape(setup: Any) -> None:
    store, engine, server = setup
    source = _source(store, engine)
    server.reset()
    server.set_default(_tagged)
    events = _replay(store, engine, source, f"*={OTHER}")
    assert {r.model for r in server.requests} == {"gpt-4o"} and len(server.requests) == 8
    result = compare(store.read_cursor(), events[-1].run_id, OWNER)
    assert sorted((s.step_id, s.where) for s in result.steps) == sorted([
        ("plan", ""), ("draft", "item 0"), ("draft", "item 1"), ("edit", "round 1"), ("edit", "round 2"),
        ("left", ""), ("right", ""), ("final", "")])  # fmt: skip
    assert result.cost_after > 0
    payloads = store.read_cursor().execute(
        "SELECT payload FROM events WHERE run_id = ? AND type = 'step_finished'", [source]).fetchall()
    assert payloads and not any('"output":' in p for (p,) in payloads)  # kept once, in steps.output


def test_a_path_the_source_run_never_took_fails_the_step_instead_of_calling_a_model(setup: Any) -> None:
    store, engine, server = setup
    looping = WORKFLOW.replace("until: 'false'", "until: \"'[gpt-4o] edit' in steps.edit.output\"")
    source = _source(store, engine, looping)  # gpt-4o-mini's answer never stops the loop early: 2 rounds
    server.reset()
    server.set_default(_tagged)
    events = _replay(store, engine, source, f"edit@round=1={OTHER}")
    # round 1 on gpt-4o satisfies `until`, so the loop ends one round early; the rest is still served
    assert events[-1].type == "run_finished", events[-1]
    assert len(server.requests) == 1
    replaced = WORKFLOW.replace("until: 'false'", "until: \"'[gpt-4o-mini] edit' in steps.edit.output\"")
    source = _source(store, engine, replaced.replace("max_iterations: 2", "max_iterations: 3"))
    server.reset()
    server.set_default(_tagged)
    events = _replay(store, engine, source, f"edit@round=1={OTHER}")  # now a round 2 nobody recorded
    assert events[-1].type == "run_failed" and "did not run in the source run" in events[-1].message
    assert "round 2 of `polish`" in events[-1].message and len(server.requests) == 1


def test_refusals_say_why(setup: Any) -> None:
    store, engine, _server = setup
    source = _source(store, engine)
    cur = store.read_cursor()

    def refused(*picks: str, owner: str = OWNER, run: str = source, **kw: Any) -> str:
        with pytest.raises(ReplayRefused) as info:
            prepare_replay(cur, engine.store, run, owner, [Pick.parse(p) for p in picks], **kw)
        return str(info.value)

    assert "no run" in refused("final", owner="mallory")  # another person's run looks like no run at all
    assert "choose the steps inside it" in refused("each")
    assert "has no item 5" in refused("draft@item=5")
    assert "no step `nope`" in refused("nope")
    assert "two models" in refused(f"final={OTHER}", f"final={CHEAP}")
    assert "not a model name" in refused("final=not a model!") or "write STEP" in refused("final=not a model!")


def test_a_step_answered_by_a_person_is_refused_and_served_when_others_are_replayed(setup: Any) -> None:
    store, engine, server = setup
    workflow = load_workflow_file(ROOT / "examples" / "human_approval.yaml")
    first = _run(engine, engine.run(workflow, {}, owner=OWNER))
    run_id = first[-1].run_id
    done = _run(engine, engine.resume(run_id, approval=ApprovalDecision(True, "ship it"), owner=OWNER))
    assert done[-1].type == "run_finished"
    store.flush(10)
    approval = next(e.step_id for e in first if e.type == "approval_requested")
    with pytest.raises(ReplayRefused, match="came from a person"):
        prepare_replay(store.read_cursor(), engine.store, run_id, OWNER, [Pick(approval)])
    server.reset()
    server.set_default(_tagged)
    events = _replay(store, engine, run_id, f"*={OTHER}")
    assert events[-1].type == "run_finished"  # the approval was served: nobody was asked again
    assert not [e for e in events if e.type in ("approval_requested", "run_interrupted")]


SIDE_EFFECTS = """
version: 2
name: poster
default_model: openai/gpt-4o-mini
agents:
  w: {role: Writer, tools: [post]}
tools:
  post: {type: http, allow: ['https://api.example.com/*'], methods: [GET, POST]}
steps:
  - {id: send, type: agent, agent: w, prompt: 'send it'}
"""


def test_a_tool_with_side_effects_is_refused_unless_confirmed(setup: Any) -> None:
    store, engine, _server = setup
    source = _source(store, engine, SIDE_EFFECTS)
    with pytest.raises(ReplayRefused, match=r"`post` \(HTTP POST\).*--allow-side-effects"):
        prepare_replay(store.read_cursor(), engine.store, source, OWNER, [Pick("send", OTHER)])
    prepared = prepare_replay(store.read_cursor(), engine.store, source, OWNER, [Pick("send", OTHER)],
                              allow_side_effects=True)
    assert prepared.chosen == ("send",)


def test_the_cli_prints_the_side_by_side_table_and_the_diff(tmp_path: Path, llm_server: Any) -> None:
    from tests.orchestrator.engine_testing import TEST_API_KEY_ENV

    (tmp_path / "wf.yaml").write_text(textwrap.dedent(WORKFLOW))
    llm_server.set_default(_tagged)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"OPENAI_API_KEY": TEST_API_KEY_ENV, "GRAPHWRIGHT_OPENAI_API_BASE": llm_server.base_url,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9", "USER": OWNER})
    data = str(tmp_path / "d")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "graphwright", *args, "--data-dir", data], env=env,
                              capture_output=True, text=True, timeout=240, cwd=ROOT)

    ran = cli("run", str(tmp_path / "wf.yaml"), "--json")
    assert ran.returncode == 0, ran.stderr[-2000:]
    run_id = ran.stdout.split('"run_id":"', 1)[1].split('"', 1)[0]
    llm_server.reset()
    llm_server.set_default(_tagged)
    done = cli("replay", run_id, "--step", f"final={OTHER}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(llm_server.requests) == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("replay ") and lines[0].endswith(f"of run {run_id}")
    row = next(line for line in lines if line.startswith("final "))
    assert f"{CHEAP} → {OTHER}" in row
    assert "--- final: output changed" in done.stdout and "+[gpt-4o] final" in done.stdout
    refused = cli("replay", run_id, "--step", "each")
    assert refused.returncode == 2 and "choose the steps inside it" in refused.stderr


def test_a_replay_cut_short_and_resumed_still_serves_the_steps_it_did_not_choose(setup: Any) -> None:
    store, engine, server = setup
    source = _source(store, engine)
    server.reset()
    cut = True

    def slow_plan(req: Any) -> Reply:
        reply = _tagged(req)
        return Reply(text=reply.text, latency=30 if cut and "plan" in str(req.messages[-1]["content"]) else 0.0)

    server.set_default(slow_plan)
    prepared = prepare_replay(store.read_cursor(), engine.store, source, OWNER, [Pick("plan", OTHER)])
    started: list[str] = []

    async def cut_short() -> None:
        async for event in engine.run(prepared.workflow, prepared.inputs, owner=OWNER, replay=prepared.plan):
            started.append(event.run_id)
            if event.type == "step_started" and event.step_id == "plan":
                await asyncio.sleep(0.3)  # the call is in flight
                raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cut_short())
    cut = False
    events = _run(engine, engine.resume(started[0], owner=OWNER))
    assert events[-1].type == "run_finished"
    assert [r.model for r in server.requests] == ["gpt-4o", "gpt-4o"]  # `plan` twice (cut, then again); no other


ROUTED = """
version: 2
name: routed
default_model: openai/gpt-4o-mini
agents:
  w: {role: Writer}
steps:
  - {id: answer, type: agent, agent: w, prompt: 'answer the ticket'}
  - id: tone
    type: route
    classify: {prompt: 'How does this sound? {{ steps.answer.output }}'}
    cases:
      - when: harsh
        steps: [{id: soften, type: agent, agent: w, prompt: 'soften {{ steps.answer.output }}'}]
    default: []
  - {id: sign, type: agent, agent: w, prompt: 'sign {{ steps.answer.output }}'}
"""


def _harsh(req: Any) -> Reply:
    if "You classify text" in str(req.messages[0].get("content")):
        return Reply(text='{"label": "harsh"}')
    return _tagged(req)


def test_a_classifier_route_takes_its_recorded_case_without_asking_a_model_unless_chosen(setup: Any) -> None:
    store, engine, server = setup
    server.set_default(_harsh)
    source = _source(store, engine, ROUTED)
    assert len(server.requests) == 4  # answer, the classifier, soften, sign
    server.reset()
    server.set_default(_harsh)
    events = _replay(store, engine, source, f"sign={OTHER}")
    assert events[-1].type == "run_finished" and len(server.requests) == 1
    assert [e.branch for e in events if e.type == "step_finished" and e.step_id == "tone"] == ["harsh"]

    server.reset()
    server.set_default(lambda req: Reply(text='{"label": "calm"}'))  # the classifier now says otherwise
    events = _replay(store, engine, source, f"tone={OTHER}")
    assert len(server.requests) == 1 and server.requests[0].model == "gpt-4o"
    assert [e.branch for e in events if e.type == "step_finished" and e.step_id == "tone"] == ["default"]
    [row] = compare(store.read_cursor(), events[-1].run_id, OWNER).steps
    assert (row.step_id, row.before.output, row.after.output) == ("tone", "harsh", "default")


