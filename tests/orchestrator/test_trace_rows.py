"""The trace rows state machine on event streams the engine really emits.

Streams are recorded from real runs (every example on the offline model, plus a cancel, a resume
after the cancel, a rejection that continues, one that stops, and provider failures through the
loopback server and an unreachable port); hypothesis then cuts them short, interleaves what ran
concurrently, and ends them with any terminal event. Whatever it makes, once a run has ended no row
is left running, and only the approval a paused run waits for is left waiting.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from engine_testing import with_placeholder_secrets, workflow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import events as ev
from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from orchestrator.trace_rows import TraceRows
from schemas import load_workflow_file
from testkit.replies import Reply

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
OFFLINE = Policy(default_model="offline/synthetic")
REJECT_STOPS = """
    version: 1
    name: strict
    agents: {w: {role: W}}
    steps:
      - {id: draft, type: agent, agent: w, prompt: Draft}
      - {id: check, type: approval, message: Ok?, on_reject: stop}
      - {id: final, type: agent, agent: w, prompt: Final}
"""
ONE_STEP = """
    version: 1
    name: one
    agents: {w: {role: W, model: openai/gpt-4o-mini}}
    steps:
      - {id: write, type: agent, agent: w, prompt: Write}
"""


class Recorder:
    """Every event of a run as the sinks saw it (including the `run_cancelled` nobody iterates)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event.model_copy())


async def _drain(stream: Any, stop_after: int | None = None) -> None:
    seen = 0
    async for _ in stream:
        seen += 1
        if stop_after is not None and seen >= stop_after:
            await stream.aclose()
            return


def _engine(tmp: Path, sink: Recorder, **kwargs: Any) -> Engine:
    return Engine(data_dir=tmp, sinks=[sink], policy=kwargs.pop("policy", OFFLINE),
                  credentials=kwargs.pop("credentials", Credentials()), **kwargs)


def _run(tmp: Path, wf: Any, *, approve: bool = True, cancel_after: int | None = None, resume: bool = False,
         **kwargs: Any) -> list[Any]:
    """Record one run: to its end (answering approvals), or cancelled after some events (then resumed)."""
    sink = Recorder()
    kwargs["credentials"] = with_placeholder_secrets(kwargs.get("credentials", Credentials()), wf)
    engine = _engine(tmp, sink, **kwargs)

    async def main() -> None:
        await _drain(engine.run(wf, {}), cancel_after)
        if resume:
            await _drain(engine.resume(sink.events[-1].run_id))
        while sink.events[-1].type == "run_interrupted":  # a question (`ask`) gets its first choice
            asked = [e for e in sink.events if e.type == "approval_requested"][-1]
            answer = asked.choices[0] if asked.choices else "not yet"
            await _drain(engine.resume(sink.events[-1].run_id, approval=ApprovalDecision(approve, answer)))

    asyncio.run(main())
    return sink.events


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Streams(dict):
    def __repr__(self) -> str:  # hypothesis prints its arguments: names, not thousands of events
        return f"Streams({sorted(self)})"


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory, _llm_server_session: Any) -> dict[str, list[Any]]:
    import os

    os.environ["GRAPHWRIGHT_OFFLINE_TOKEN_DELAY"] = "0.002"
    tmp = tmp_path_factory.mktemp("rows")
    out = {path.stem: _run(tmp / path.stem, load_workflow_file(path)) for path in EXAMPLES}
    approval = load_workflow_file(EXAMPLES[[p.stem for p in EXAMPLES].index("human_approval")])
    out["rejected_continues"] = _run(tmp / "rc", approval, approve=False)
    out["rejected_stops"] = _run(tmp / "rs", workflow(REJECT_STOPS), approve=False)
    maps = load_workflow_file(EXAMPLES[[p.stem for p in EXAMPLES].index("map_topics")])
    out["cancelled"] = _run(tmp / "c", maps, cancel_after=90)
    out["cancelled_then_resumed"] = _run(tmp / "cr", maps, cancel_after=90, resume=True)
    server = _llm_server_session
    server.reset()
    server.set_default(lambda _request: Reply(fault="auth"))
    keyed = Credentials(keys={"openai": "sk-wrong-0123456789abcdef"}, api_bases={"openai": server.base_url})
    out["provider_rejects_key"] = _run(tmp / "pk", workflow(ONE_STEP), credentials=keyed)
    out["provider_rejects_key_cli"] = _run(tmp / "pkc", workflow(ONE_STEP), credentials=keyed,
                                           policy=Policy(default_model="offline/synthetic", key_source="environment"))
    server.set_default(lambda _request: Reply(fault="rate_limit", retry_after=0.01))
    out["provider_rate_limited"] = _run(tmp / "pr", workflow(ONE_STEP), credentials=keyed)
    server.set_default(lambda _request: Reply(fault="bad_request", status=404, message="The model does not exist"))
    out["provider_unknown_model"] = _run(tmp / "pm", workflow(ONE_STEP), credentials=keyed)
    server.reset()
    nowhere = Credentials(keys={"openai": "sk-x-0123456789abcdef"},
                          api_bases={"openai": f"http://127.0.0.1:{_free_port()}/v1"})
    out["provider_unreachable"] = _run(tmp / "pu", workflow(ONE_STEP), credentials=nowhere)
    return Streams(out)


def _assert_settled(rows: TraceRows) -> None:
    assert not [r for r in rows.rows if r.status == "running"], rows.rows
    waiting = [r.step_id for r in rows.rows if r.status == "waiting"]
    assert waiting == ([rows.pending_approval] if rows.ended == "run_interrupted" and rows.pending_approval else [])


def test_real_streams_end_with_every_row_settled(streams: dict[str, list[Any]]) -> None:
    for name, events in streams.items():
        rows = TraceRows()
        for event in events:
            rows.apply(event)
            if event.type in ev.TERMINAL_TYPES:
                _assert_settled(rows)
        assert rows.ended in ev.TERMINAL_TYPES, name


def test_the_recordings_cover_the_endings(streams: dict[str, list[Any]]) -> None:
    endings = {name: events[-1] for name, events in streams.items()}
    assert endings["cancelled"].type == "run_cancelled"
    assert endings["rejected_stops"].type == "run_cancelled" and endings["rejected_stops"].reason == "rejected"
    assert endings["provider_rejects_key"].type == endings["provider_unreachable"].type == "run_failed"
    assert {p.stem: endings[p.stem].type for p in EXAMPLES} == {p.stem: "run_finished" for p in EXAMPLES}


def test_map_items_close_under_their_parent_with_their_names(streams: dict[str, list[Any]]) -> None:
    rows = TraceRows()
    rows.apply_all(streams["map_topics"])
    items = [r for r in rows.rows if r.step_id == "section"]
    assert len(items) >= 2 and {r.status for r in items} == {"ok"}
    assert all(r.parent == "sections" and r.depth == 1 for r in items)
    assert [r.label.split(":")[0] for r in items] == [f"item {i + 1}" for i in range(len(items))]
    ids = [r.step_id for r in rows.rows]
    assert ids.index("sections") < ids.index("section") < ids.index("lesson")
    body = [(r.step_id, r.label) for r in rows.rows if r.parent == "sections"]
    assert body == [(step, item.label) for item in items for step in ("facts", "section")]  # grouped per item


def test_loop_rounds_and_parallel_branches_are_nested(streams: dict[str, list[Any]]) -> None:
    loop = TraceRows()
    loop.apply_all(streams["review_loop"])
    body = [r for r in loop.rows if r.parent == "revise"]
    assert body and all(r.depth == 1 and r.label.startswith("round ") for r in body)
    par = TraceRows()
    par.apply_all(streams["parallel_research"])
    assert {r.step_id for r in par.rows if r.parent == "perspectives"} == {"economics", "planning", "residents"}


def test_an_approval_row_is_replaced_by_its_decision(streams: dict[str, list[Any]]) -> None:
    approved, continued, stopped = TraceRows(), TraceRows(), TraceRows()
    approved.apply_all(streams["human_approval"])
    continued.apply_all(streams["rejected_continues"])
    stopped.apply_all(streams["rejected_stops"])
    assert [r.status for r in approved.rows if r.step_id == "sign_off"] == ["ok"]
    [row] = [r for r in continued.rows if r.step_id == "sign_off"]
    assert row.status == "rejected" and "continued" in row.note
    assert [r.status for r in continued.rows if r.step_id == "final"] == ["ok"]
    assert [r.status for r in stopped.rows if r.step_id == "check"] == ["rejected"]


def test_a_cancelled_then_resumed_run_has_one_row_per_execution(streams: dict[str, list[Any]]) -> None:
    rows = TraceRows()
    rows.apply_all(streams["cancelled_then_resumed"])
    keys = [(r.step_id, r.item_index, r.iteration) for r in rows.rows]
    assert len(keys) == len(set(keys)) and {r.status for r in rows.rows} == {"ok"}


def test_a_step_whose_finish_the_checkpoint_lost_takes_over_its_row_when_it_runs_again() -> None:
    """Cancelled just after `b` finished, before its result was checkpointed: the resume runs it again."""
    run = "r1"
    rows = TraceRows()
    rows.apply_all([
        ev.RunStarted(run_id=run, seq=1, workflow="w"),
        ev.StepStarted(run_id=run, seq=2, step_id="a", step_type="agent"),
        ev.StepFinished(run_id=run, seq=3, step_id="a", step_type="agent"),
        ev.StepStarted(run_id=run, seq=4, step_id="b", step_type="agent"),
        ev.StepFinished(run_id=run, seq=5, step_id="b", step_type="agent"),
        ev.RunCancelled(run_id=run, seq=6),
        ev.RunStarted(run_id=run, seq=1001, workflow="w", resumed=True, accounted=[3]),
        ev.StepStarted(run_id=run, seq=1002, step_id="b", step_type="agent"),
    ])
    assert [(r.step_id, r.status) for r in rows.rows] == [("a", "ok"), ("b", "running")]
    rows.apply_all([ev.StepFinished(run_id=run, seq=1003, step_id="b", step_type="agent"),
                    ev.RunFinished(run_id=run, seq=1004)])
    assert [(r.step_id, r.status) for r in rows.rows] == [("a", "ok"), ("b", "ok")]


# ---- generated: cut short, interleaved, ended by any terminal event ---------------------------------
def _key(event: Any) -> tuple[str | None, int | None] | None:
    """Which execution an event belongs to; None for events that must keep their place."""
    if event.type in ("step_started", "step_finished") and event.step_type in ("parallel", "map", "route", "loop"):
        return None
    if event.type in ("step_started", "step_finished", "token", "llm_call", "tool_call", "tool_result"):
        return (event.step_id, getattr(event, "item_index", None))
    return None


def _interleave(events: list[Any], swaps: list[int]) -> list[Any]:
    """Swap neighbours of different executions: an order concurrent steps could also produce."""
    out = list(events)
    for i in swaps:
        i %= max(len(out) - 1, 1)
        a, b = _key(out[i]), _key(out[i + 1]) if i + 1 < len(out) else None
        if a is not None and b is not None and a != b:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _terminal(kind: int, run_id: str, pending: str | None) -> Any:
    return [ev.RunFinished(run_id=run_id), ev.RunFailed(run_id=run_id, reason="provider_error", message="x"),
            ev.RunCancelled(run_id=run_id), ev.RunInterrupted(run_id=run_id, reason="crash"),
            ev.RunInterrupted(run_id=run_id, reason="approval")][kind]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_cut_and_interleaving_ends_settled(streams: dict[str, list[Any]], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(streams)))
    events = [e for e in streams[name] if e.type != "token"] if data.draw(st.booleans()) else streams[name]
    events = _interleave(events, data.draw(st.lists(st.integers(0, 10_000), max_size=60)))
    cut = data.draw(st.integers(1, len(events)))
    rows = TraceRows()
    rows.apply_all(events[:cut])
    if events[cut - 1].type not in ev.TERMINAL_TYPES:
        rows.apply(_terminal(data.draw(st.integers(0, 4)), events[0].run_id, rows.pending_approval))
    _assert_settled(rows)


# ---- provider failures in words -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "cause", "fix"), [
    ("provider_rejects_key", "rejected the API key", "in Settings"),
    ("provider_rejects_key_cli", "rejected the API key", "OPENAI_API_KEY"),
    ("provider_unreachable", "Cannot connect to host", "try again later"),
    ("provider_rate_limited", "rate limited", "wait a minute"),
    ("provider_unknown_model", "is not known to the provider", "check the model name"),
])
def test_provider_failures_say_cause_and_fix_once(streams: dict[str, list[Any]], name: str, cause: str,
                                                   fix: str) -> None:
    failed = streams[name][-1]
    step_error = [e for e in streams[name] if e.type == "step_finished"][-1].error
    for text in (failed.message, step_error):
        assert cause in text and fix in text, text
        assert "object at 0x" not in text and "<" not in text, text
        sentences = [part.strip() for part in text.replace(";", ".").split(".") if len(part.strip()) > 20]
        assert len(sentences) == len(set(sentences)), f"a repeated sentence in: {text}"
    if "rejects_key" in name:  # the CLI has no Settings tab: it names the variable instead
        assert ("Settings" in failed.message) == (name != "provider_rejects_key_cli")
