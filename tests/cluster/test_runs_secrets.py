"""A visitor's own keys in cluster mode: the worker runs with them, and they are nowhere else.

The keys travel sealed (`cluster.sealed`) in the run's Temporal request; these tests look for a
canary key in everything a cluster keeps — Temporal's history and its SQLite file, every PostgreSQL
table, the worker's and the app's DEBUG logs, the events — after a run whose worker was killed
mid-call (the retry on another worker must still have the key).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import Any

import pytest
from runs_testing import APPROVAL, TEST_KEY, TWO_STEPS, drain

from cluster.sealed import SECRET_ENV, Sealer, SessionKeysRefused, SessionSecrets
from orchestrator.credentials import Credentials
from orchestrator.events import RunOrigin
from orchestrator.policy import Policy
from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster

SECRET = "cluster-secret-for-tests-0123456789abcdef"
CANARY = "sk-visitor-canary-7f3a9c2e41d8b6057e19"
NAMED_CANARY = "named-canary-b81c44e0d2a97f13"


def visitor_executor(cluster: Any, app_secret: str | None, secrets: SessionSecrets | None) -> Any:
    """An app replica's executor for a visitor who typed `secrets` in Settings (the app's own key differs)."""
    from cluster.executor import ClusterExecutor, ClusterRuntime

    keys = {"openai": "sk-operator-of-the-app", **(dict(secrets.keys) if secrets else {})}
    engine = cluster.app_engine(Credentials(keys=keys, api_bases={"openai": cluster.llm_base_url}), Policy())
    runtime = ClusterRuntime(cluster.settings(), cluster.dsn, Sealer(app_secret) if app_secret else None)
    return ClusterExecutor(engine, runtime, secrets)


def authorizations(llm_server: Any) -> list[str]:
    return [r.headers.get("Authorization", "") for r in llm_server.requests]


def temporal_payloads(cluster: Any, run_id: str) -> str:
    """Every payload of the run's workflow history, decoded (the JSON form holds them base64-encoded)."""
    from cluster.temporal_client import connect

    async def fetch() -> str:
        client = await connect(cluster.settings(), attempts=1)
        history = await client.get_workflow_handle(run_id).fetch_history()
        return history.to_json()

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "metadata" in node and isinstance(node.get("data"), str):
                found.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(asyncio.run(fetch())))
    return "\n".join(found)


def postgres_dump(dsn: str) -> str:
    """Every row of every table of the database, as text (bytea as hex)."""
    import psycopg

    rows: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = "
                              "'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            rows += [r[0] for r in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()]
    return "\n".join(rows)


def leaks(text: str, *secrets: str) -> list[str]:
    """Which secrets `text` holds, as text or as the hex PostgreSQL shows binary columns in."""
    return [s for s in secrets if s in text or s.encode().hex() in text]


def test_a_worker_runs_with_the_visitors_key_even_after_a_kill_and_the_key_is_kept_nowhere(
        cluster, llm_server, temporal_server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    cluster.heartbeat_timeout_s = 3.0
    cluster.extra_env[SECRET_ENV] = SECRET
    calls = {"n": 0}

    def reply(req: Any) -> Reply:  # the first call hangs until its worker is killed
        calls["n"] += 1
        return Reply(text=f"said {calls['n']}", latency=600 if calls["n"] == 1 else 0)

    llm_server.set_default(reply)
    cluster.start_worker("--log-level", "DEBUG")
    secrets = SessionSecrets(keys={"openai": CANARY}, named={"SERPER_API_KEY": NAMED_CANARY})

    async def run_kill_and_resume() -> list[Any]:
        pasted = RunOrigin(original=f"{TWO_STEPS}# my key: {CANARY}\n", source="app", chat_request=f"use {CANARY}")
        task = asyncio.create_task(drain(visitor_executor(cluster, SECRET, secrets).run(
            load_workflow(TWO_STEPS, "t.yaml"), {}, run_id="keyed", origin=pasted)))
        deadline = time.monotonic() + 120
        while not llm_server.requests:  # worker 0 is inside the first model call
            assert time.monotonic() < deadline and not task.done(), cluster.worker_log(0)
            await asyncio.sleep(0.05)
        await asyncio.to_thread(cluster.start_worker, "--log-level", "DEBUG")
        cluster.workers[0].kill()  # SIGKILL mid-call: worker 1 retries the segment from the checkpoint
        return await asyncio.wait_for(task, 180)

    events = asyncio.run(run_kill_and_resume())

    assert events[-1].type == "run_finished", (events[-3:], cluster.worker_log(1))
    assert any(e.type == "run_started" and e.resumed for e in events)  # the retry happened on worker 1
    assert len(llm_server.requests) == 3  # the killed call, its re-run, step two
    assert set(authorizations(llm_server)) == {f"Bearer {CANARY}"}  # never the worker's TEST_KEY

    payloads = temporal_payloads(cluster, "keyed")
    assert '"sealed":"v1.' in payloads and "# my key: [REDACTED]" in payloads  # keys travel sealed, or not at all
    assert leaks(payloads, CANARY, NAMED_CANARY) == []
    database = b"".join(p.read_bytes() for p in temporal_server.root.glob("temporal.db*")).decode("latin-1")
    assert "keyed" in database and "v1." + Sealer(SECRET).key_id in database  # payloads are stored as they are
    assert leaks(database, CANARY, NAMED_CANARY) == []
    dump = postgres_dump(cluster.dsn)
    assert "keyed" in dump and "said 3" in dump  # the run's rows, checkpoints and events are there
    assert leaks(dump, CANARY, NAMED_CANARY) == []
    worker_logs = "".join((cluster.data_dir.parent / f"worker-{i}.log").read_text() for i in range(2))
    assert "DEBUG" in worker_logs
    assert leaks(worker_logs + caplog.text, CANARY, NAMED_CANARY) == []
    assert leaks("\n".join(e.model_dump_json() for e in events), CANARY, NAMED_CANARY) == []


def test_without_the_shared_secret_a_visitors_keys_are_refused_and_the_workers_own_keys_still_work(
        cluster, llm_server) -> None:
    llm_server.set_default(lambda req: Reply(text="ok"))
    cluster.start_worker()

    with pytest.raises(SessionKeysRefused, match=f"operator has not set {SECRET_ENV}"):
        visitor_executor(cluster, None, SessionSecrets(keys={"openai": CANARY}))
    events = asyncio.run(drain(visitor_executor(cluster, None, None).run(load_workflow(TWO_STEPS, "t.yaml"), {})))

    assert events[-1].type == "run_finished"
    assert set(authorizations(llm_server)) == {f"Bearer {TEST_KEY}"}  # the worker's own key


def test_a_worker_with_another_secret_fails_the_run_once_saying_so_and_keeps_serving(cluster, llm_server) -> None:
    llm_server.set_default(lambda req: Reply(text="ok"))
    cluster.extra_env[SECRET_ENV] = "another-secret-entirely-0123456789abcdef"
    worker = cluster.start_worker()
    wf = load_workflow(TWO_STEPS, "t.yaml")

    refused = asyncio.run(drain(visitor_executor(cluster, SECRET, SessionSecrets(keys={"openai": CANARY})).run(
        wf, {}, run_id="mismatch")))

    assert refused[-1].type == "run_failed"
    assert f"this worker's {SECRET_ENV} is not the app's" in refused[-1].message, refused[-1].message
    assert llm_server.requests == []  # no call went out with the worker's own key instead
    assert worker.poll() is None and worker.pid in cluster.polling_pids()
    log = cluster.worker_log(0)
    assert f"ERROR cluster.activity: run mismatch: this worker's {SECRET_ENV} is not the app's" in log
    assert log.count("Completing activity as failed") == 1  # failed once, not retried in a loop
    events = asyncio.run(drain(visitor_executor(cluster, SECRET, None).run(wf, {})))
    assert events[-1].type == "run_finished"  # the same worker serves the next run


def test_an_approval_carries_the_keys_of_the_visitor_who_decides(cluster, llm_server) -> None:
    """As locally, the segment after a decision runs with the decider's keys (here another replica's visitor)."""
    from orchestrator.runner import ApprovalDecision

    llm_server.set_default(lambda req: Reply(text="ok"))
    cluster.extra_env[SECRET_ENV] = SECRET
    cluster.start_worker()
    starter, decider = SessionSecrets(keys={"openai": CANARY}), SessionSecrets(keys={"openai": "sk-decider-9d1e"})

    first = asyncio.run(drain(visitor_executor(cluster, SECRET, starter).run(
        load_workflow(APPROVAL, "a.yaml"), {}, run_id="approve-keys")))
    assert first[-1].type == "run_interrupted"
    second = asyncio.run(drain(visitor_executor(cluster, SECRET, decider).resume(
        "approve-keys", approval=ApprovalDecision(True, "go"))))

    assert second[-1].type == "run_finished", second[-3:]
    assert authorizations(llm_server) == [f"Bearer {CANARY}", "Bearer sk-decider-9d1e"]
