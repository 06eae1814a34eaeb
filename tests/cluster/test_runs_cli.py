"""`graphwright run` in cluster mode: the run executes on a worker through Temporal, as from the Run tab."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from runs_testing import TWO_STEPS

from testkit.replies import Reply

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]


async def _activity_identities(cluster, run_id: str) -> list[str]:
    from cluster.temporal_client import connect

    client = await connect(cluster.settings(), attempts=1)
    history = await client.get_workflow_handle(run_id).fetch_history()
    return [e.activity_task_started_event_attributes.identity for e in history.events
            if e.HasField("activity_task_started_event_attributes")]


def test_the_cli_starts_its_run_on_a_worker_and_prints_the_workers_events(cluster, llm_server, tmp_path) -> None:
    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}"))
    worker = cluster.start_worker()
    config = tmp_path / "run.yaml"
    config.write_text(TWO_STEPS)

    done = subprocess.run([sys.executable, "-m", "graphwright", "run", str(config), "--json"], cwd=ROOT,
                          env=cluster.env(), capture_output=True, text=True, timeout=240)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [e["type"] for e in events][-1] == "run_finished" and events[-1]["output"] == "done two done one"
    assert asyncio.run(_activity_identities(cluster, events[-1]["run_id"])) == [f"{socket.gethostname()}:{worker.pid}"]


def test_no_history_keeps_a_worker_run_out_of_the_shared_history(cluster, llm_server, tmp_path) -> None:
    """What the flag says, in cluster mode too: the worker records none of the run's rows (its live events still
    reach the terminal); a run without the flag, on the same worker just after, is recorded as usual."""
    import psycopg
    from runs_testing import app_executor, drain

    from schemas import load_workflow

    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}"))
    cluster.start_worker()
    config = tmp_path / "run.yaml"
    config.write_text(TWO_STEPS)

    done = subprocess.run([sys.executable, "-m", "graphwright", "run", str(config), "--json", "--no-history"], cwd=ROOT,
                          env=cluster.env(), capture_output=True, text=True, timeout=240)
    unrecorded = json.loads(done.stdout.splitlines()[-1])
    recorded = asyncio.run(drain(app_executor(cluster).run(load_workflow(TWO_STEPS, "run.yaml"), {})))[-1]

    def rows(run_id: str) -> dict[str, int]:
        with psycopg.connect(cluster.dsn) as con:
            return {table: con.execute(f"SELECT count(*) FROM {table} WHERE run_id = %s", [run_id]).fetchone()[0]
                    for table in ("runs", "steps", "llm_calls", "events")}

    assert done.returncode == 0, done.stderr
    assert unrecorded["type"] == recorded.type == "run_finished"
    assert rows(unrecorded["run_id"]) == {"runs": 0, "steps": 0, "llm_calls": 0, "events": 0}
    assert all(rows(recorded.run_id).values())  # recorded by the time its run ended (the worker waits for the commit)
