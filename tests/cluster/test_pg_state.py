"""Run state in PostgreSQL: a run paused on one engine is resumed by another (another worker, another
data dir) and records the same events and totals as the embedded files do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from history import queries as q
from history.backend import open_history
from history.queries import Filters
from orchestrator.credentials import Credentials
from orchestrator.deployment import Deployment, DeploymentError, open_run_state
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from orchestrator.tool_journal import INTERRUPTED
from schemas import load_workflow_file
from testkit.replies import Reply
from tests.cluster.helpers import APPROVAL_EXAMPLE as EXAMPLE
from tests.cluster.helpers import collect

pytestmark = pytest.mark.cluster


def _paused_then_approved(first: Engine, second: Engine) -> tuple[list[Any], list[Any]]:
    workflow = load_workflow_file(EXAMPLE)
    paused = collect(first.run(workflow, {}, owner="alice", run_id="r1"))
    assert paused[-1].type == "run_interrupted"
    done = collect(second.resume("r1", approval=ApprovalDecision(True, "ship it"), owner="alice"))
    return paused, done


def _shape(events: list[Any]) -> list[tuple[str, int]]:
    return [(e.type, e.seq) for e in events]


def test_a_run_paused_on_one_worker_finishes_on_another_like_a_local_run(
    tmp_path: Path, fresh_dsn: str, llm_server: Any, credentials: Credentials, llm_client: Any
) -> None:
    llm_server.set_default(lambda req: Reply(text=synthesize(req.messages, req.tools).text))
    common = {"client": llm_client, "credentials": credentials, "policy": Policy(default_model="openai/gpt-4o-mini")}
    cluster = Deployment(postgres_dsn=fresh_dsn)

    local_history = open_history(tmp_path / "local", Deployment(), mlflow=False)
    local = Engine(data_dir=tmp_path / "local", sinks=[local_history.sink], deployment=Deployment(), **common)
    local_run = _paused_then_approved(local, local)

    pg_history = open_history(None, cluster)
    workers = [Engine(data_dir=tmp_path / f"worker{i}", sinks=[pg_history.sink], deployment=cluster, **common)
               for i in (1, 2)]
    cluster_run = _paused_then_approved(workers[0], workers[1])
    try:
        assert [_shape(part) for part in cluster_run] == [_shape(part) for part in local_run]
        assert not (tmp_path / "worker1" / "runs.sqlite").exists()  # nothing of the run on a worker's disk
        assert local_history.flush(10) and pg_history.flush(10)
        for store in (local_history, pg_history):
            run = q.list_runs(store.read_cursor(), Filters(owner="alice")).iloc[0]
            assert (run.status, run.segments, run.tokens_in) == ("finished", 2, cluster_run[1][-1].tokens_in)
    finally:
        for engine in (local, *workers):
            engine.state.close()
        local_history.close()
        pg_history.close()


def test_a_tool_call_cut_by_a_dead_worker_reports_its_outcome_unknown_on_another(fresh_dsn: str,
                                                                                tmp_path: Path) -> None:
    dead, alive = (open_run_state(tmp_path, Deployment(postgres_dsn=fresh_dsn)) for _ in range(2))
    try:
        dead.journal.begin("r1", "k-post")  # the worker died before the tool returned
        dead.journal.begin("r1", "k-get")
        dead.journal.end("r1", "k-get", True, "200 OK")
        alive.journal.start_segment("r1")
        assert alive.journal.replay("r1", "k-post") == (False, INTERRUPTED)
        assert alive.journal.replay("r1", "k-get") == (True, "200 OK")
        assert alive.journal.replay("r1", "k-new") is None
        alive.journal.forget_run("r1")
        alive.journal.start_segment("r1")
        assert alive.journal.replay("r1", "k-get") is None
    finally:
        dead.close()
        alive.close()


def test_the_environment_picks_the_deployment_and_bad_settings_name_the_variable() -> None:
    assert Deployment.from_env({}) == Deployment()
    dsn = "postgresql://gw:secret@db:5432/gw"
    chosen = Deployment.from_env({"GRAPHWRIGHT_POSTGRES_DSN": dsn, "GRAPHWRIGHT_TEMPORAL_ADDRESS": "t:7233"})
    assert chosen.cluster and chosen.temporal_address == "t:7233" and chosen.task_queue == "graphwright-runs"
    assert "secret" not in repr(chosen)
    with pytest.raises(DeploymentError, match="GRAPHWRIGHT_POSTGRES_DSN is set but|GRAPHWRIGHT_TEMPORAL_ADDRESS is set"):
        Deployment.from_env({"GRAPHWRIGHT_TEMPORAL_ADDRESS": "t:7233"})
    with pytest.raises(DeploymentError, match="GRAPHWRIGHT_POSTGRES_DSN is not a PostgreSQL connection string"):
        Deployment.from_env({"GRAPHWRIGHT_POSTGRES_DSN": "db.example.com"})


def test_postgres_going_away_mid_run_pauses_an_in_process_run_which_resumes_once_it_is_back(
    tmp_path: Path, fresh_dsn: str, postgres_server: Any, llm_server: Any, credentials: Credentials,
    llm_client: Any, caplog: Any,
) -> None:
    import asyncio
    import threading

    from schemas import load_workflow

    workflow = load_workflow("""
version: 1
name: two
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: one}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
""", "two.yaml")
    asked = threading.Event()

    def model(req: Any) -> Reply:
        asked.set()
        return Reply(text=f"done {req.messages[-1]['content']}", latency=1.0)

    llm_server.set_default(model)
    engine = Engine(data_dir=tmp_path, client=llm_client, credentials=credentials, policy=Policy(),
                    deployment=Deployment(postgres_dsn=fresh_dsn))

    async def run_while_postgres_stops() -> tuple[list[Any], bool]:
        stopping = asyncio.create_task(asyncio.to_thread(lambda: asked.wait(300) and not postgres_server.stop()))
        events = [event async for event in engine.run(workflow, {}, run_id="gone")]
        return events, await stopping

    events, stopped = asyncio.run(run_while_postgres_stops())
    if stopped:
        postgres_server.start()
    try:
        assert stopped and [e.type for e in events][-2:] == ["warning", "run_interrupted"], events[-3:]
        assert events[-1].reason == "state_unreachable"
        assert "PostgreSQL could not be reached" in events[-2].message and "resume it" in events[-2].message
        assert "could not save it" in caplog.text  # the status write failed too: logged, not raised
        done = collect(engine.resume("gone", owner=""))
        assert done[-1].type == "run_finished" and done[-1].output == "done two done one"
    finally:
        engine.state.close()


def test_workers_setting_up_at_once_wait_for_each_other_without_deadlocking(fresh_dsn: str) -> None:
    """One process holds the set-up lock and builds an index CONCURRENTLY (as LangGraph's setup does); another
    starting meanwhile must not sit in a statement waiting for the lock, which that build would wait for."""
    import threading
    import time

    import psycopg

    from orchestrator.pg_state import _STATE_LOCK, _setup_checkpoints

    with psycopg.connect(fresh_dsn, autocommit=True) as holder:
        holder.execute("CREATE TABLE setup_probe (n int)")
        holder.execute("SELECT pg_advisory_lock(%s)", [_STATE_LOCK + 1])
        failures: list[BaseException] = []

        def set_up() -> None:
            try:
                _setup_checkpoints(fresh_dsn)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        second = threading.Thread(target=set_up, daemon=True)
        second.start()
        deadline = time.monotonic() + 30
        while not _other_backends(holder) and time.monotonic() < deadline:  # the second has connected
            time.sleep(0.05)
        time.sleep(0.5)  # and asks for the lock
        holder.execute("SET lock_timeout = '20s'")
        holder.execute("CREATE INDEX CONCURRENTLY setup_probe_n ON setup_probe (n)")  # waited for the second before
        holder.execute("SELECT pg_advisory_unlock(%s)", [_STATE_LOCK + 1])
    second.join(60)
    assert not second.is_alive() and failures == []


def _other_backends(con: Any) -> int:
    return int(con.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()").fetchone()[0])
