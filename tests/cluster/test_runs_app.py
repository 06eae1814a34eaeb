"""The app in cluster mode: the Run tab's own code path streams a run executed by a worker."""

from __future__ import annotations

import asyncio

import pytest
from runs_testing import TEST_KEY, TWO_STEPS, drain

from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster


def replica(cluster, monkeypatch, tmp_path, name: str):
    """An app replica's services, built from the environment as `app.py` builds them."""
    from ui.services import AppServices

    for key, value in cluster.env().items():
        if key.startswith(("GRAPHWRIGHT_", "OPENAI_")):
            monkeypatch.setenv(key, value)
    return AppServices.create(tmp_path / name)


def test_the_run_tab_streams_a_worker_run_and_another_replica_follows_it_live(cluster, llm_server, monkeypatch,
                                                                               tmp_path) -> None:
    from cluster.executor import ClusterExecutor
    from ui.run_views import stream
    from ui.session import Session

    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}", chunk_delay=0.05))
    cluster.start_worker()
    first, second = replica(cluster, monkeypatch, tmp_path, "a"), replica(cluster, monkeypatch, tmp_path, "b")
    try:
        session, other = Session(), Session()
        other.owner = session.owner  # the same visitor, reconnected to the other replica
        executor = first.engine_for(session)
        assert isinstance(executor, ClusterExecutor) and executor.engine.credentials.keys["openai"] == TEST_KEY

        async def both() -> tuple[list, list]:
            wf = load_workflow(TWO_STEPS, "app.yaml")
            updates: list = []

            async def watch() -> None:
                async for update in stream(session, executor.run(wf, {}, owner=session.owner_id, run_id="viaapp")):
                    updates.append(update)

            watching = asyncio.create_task(watch())
            while not llm_server.requests:
                await asyncio.sleep(0.05)
            followed = [e async for e in second.engine_for(other).resume("viaapp", owner=other.owner_id)]
            await watching
            return updates, followed

        updates, followed = asyncio.run(both())
        assert session.trace.status == "finished" and session.trace.output == "done two done one"
        assert len(updates) >= 2  # live updates, then the final view
        assert followed[-1].type == "run_finished" and followed[-1].output == "done two done one"
        assert session.trace.run_id == "viaapp"
    finally:
        first.close()
        second.close()



def test_a_run_goes_on_when_its_page_leaves_the_replica_and_the_other_replica_follows_it_from_the_start(
        cluster, llm_server, monkeypatch, tmp_path) -> None:
    from orchestrator.errors import RunNotResumable
    from ui.session import Session

    slow = " ".join(f"w{i}" for i in range(20))
    llm_server.set_default(lambda req: Reply(text=slow, chunk_delay=0.1) if req.messages[-1]["content"].startswith(
        "two") else Reply(text="first"))
    cluster.start_worker()
    first, second = replica(cluster, monkeypatch, tmp_path, "a"), replica(cluster, monkeypatch, tmp_path, "b")
    session, back, stranger = Session(), Session(), Session()
    back.owner = session.owner
    try:
        async def leave_then_follow() -> list:
            seen = first.engine_for(session).run(load_workflow(TWO_STEPS, "app.yaml"), {}, owner=session.owner_id,
                                                 run_id="left")
            async for event in seen:
                if event.type == "token" and event.step_id == "two":
                    break
            await seen.aclose()  # what Gradio does to the run's handler when the page goes away
            with pytest.raises(RunNotResumable):
                await anext(second.engine_for(stranger).follow("left", owner=stranger.owner_id))
            assert [e async for e in second.follow_running(stranger)] == []  # what a stranger's page load finds
            return [e async for e in second.follow_running(back)]  # what the visitor's page load finds: that run

        followed = asyncio.run(leave_then_follow())
    finally:
        first.close()
        second.close()
    types = [e.type for e in followed]
    assert types[0] == "run_started" and types[-1] == "run_finished", types  # from the start, to the end
    assert "run_cancelled" not in types
    assert followed[-1].output == slow and {e.run_id for e in followed} == {"left"}


def test_the_apps_stop_button_cancels_the_run_on_its_worker_within_a_second(cluster, llm_server, monkeypatch,
                                                                             tmp_path) -> None:
    import time

    from cluster.event_bus import subscribe
    from ui.run_views import stream
    from ui.session import Session
    from ui.trace_view import TraceView

    llm_server.set_default(lambda req: Reply(text="slow", latency=60))
    cluster.start_worker()
    services = replica(cluster, monkeypatch, tmp_path, "a")
    session = Session(trace=TraceView(status="running", run_id="stopped"))  # as the Run tab starts a run
    try:
        async def run_then_stop() -> float:
            updates = stream(session, services.engine_for(session).run(load_workflow(TWO_STEPS, "app.yaml"), {},
                                                                        owner=session.owner_id, run_id="stopped"))
            watching = asyncio.create_task(anext(updates))
            while not llm_server.requests:  # the worker is inside the model call
                await asyncio.sleep(0.05)
            async with subscribe(cluster.dsn, "stopped") as recorded:
                stopped = time.monotonic()
                await services.stop_run(session)  # the Stop button (Gradio also cancels the page's handler)
                watching.cancel()
                async for event in recorded:
                    if event.type == "run_cancelled":
                        return time.monotonic() - stopped
            raise AssertionError("no run_cancelled")

        latency = asyncio.run(run_then_stop())
    finally:
        services.close()
    print(f"\n[cluster] the app's Stop -> run_cancelled recorded by the worker: {latency * 1000:.0f} ms")
    assert latency < 1.0

def test_a_visitors_analytics_on_either_replica_show_their_runs_through_both_and_no_one_elses(
        cluster, llm_server, monkeypatch, tmp_path) -> None:
    from history import queries as q
    from history.sql_box import run_sql
    from ui.session import Session

    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}"))
    cluster.start_worker()
    first, second = replica(cluster, monkeypatch, tmp_path, "a"), replica(cluster, monkeypatch, tmp_path, "b")
    alice_on_a, alice_on_b, bob_on_b = Session(), Session(), Session()
    alice_on_b.owner = alice_on_a.owner  # alice came back through the other replica
    try:
        wf = load_workflow(TWO_STEPS, "app.yaml")
        for services, session, run_id in ((first, alice_on_a, "alice-a"), (second, alice_on_b, "alice-b"),
                                          (second, bob_on_b, "bob-b")):
            events = asyncio.run(drain(services.engine_for(session).run(wf, {}, owner=session.owner_id,
                                                                         run_id=run_id)))
            assert events[-1].type == "run_finished", events[-3:]

        for services in (first, second):
            for session, mine in ((alice_on_a, {"alice-a", "alice-b"}), (bob_on_b, {"bob-b"})):
                owner = session.owner_id
                assert listed_runs(services, owner, mine) == mine
                cur = services.history.read_cursor()
                kpis = q.kpis(cur, q.Filters(owner=owner)).iloc[0]
                assert (kpis.runs, kpis.finished) == (len(mine), len(mine))
                assert set(q.most_expensive_runs(cur, q.Filters(owner=owner)).run_id) == mine
                sql = run_sql(cur, "SELECT DISTINCT run_id FROM llm_calls ORDER BY run_id", owner, timeout_s=60)
                assert set(sql.frame["run_id"]) == mine
                for run_id in {"alice-a", "alice-b", "bob-b"} - mine:
                    assert q.replay(cur, run_id, owner) == []
    finally:
        first.close()
        second.close()


def listed_runs(services, owner: str, expected: set[str], timeout: float = 30.0) -> set[str]:
    """The owner's finished runs in the replica's Analytics list, once `expected` shows (the workers' history
    rows are committed a few milliseconds after the live events)."""
    import time

    from history import queries as q

    deadline = time.monotonic() + timeout
    while True:
        runs = q.list_runs(services.history.read_cursor(), q.Filters(owner=owner))
        listed = set(runs.run_id[runs.status == "finished"])
        if listed == expected or time.monotonic() > deadline:
            return listed
        time.sleep(0.1)
