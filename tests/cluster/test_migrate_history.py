"""`graphwright migrate-history`: a local installation moves into PostgreSQL whole — its history
answers the same, a run paused for approval there is approved and finished in cluster mode, and a
second migration copies nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from graphwright.cli import main
from history.pg_store import PgHistoryStore
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.deployment import Deployment
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from schemas import load_workflow_file
from testkit.replies import Reply
from tests.cluster.helpers import APPROVAL_EXAMPLE as EXAMPLE
from tests.cluster.helpers import answers, collect, sample_runs
from tests.history.helpers import record_all

pytestmark = pytest.mark.cluster


def test_migrate_history_round_trip(data_dir: Path, fresh_dsn: str, llm_server: Any, credentials: Credentials,
                                    llm_client: Any, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.set_default(lambda req: Reply(text=synthesize(req.messages, req.tools).text))
    engine_args = {"client": llm_client, "credentials": credentials, "policy": Policy(default_model="openai/gpt-4o-mini")}
    local = HistoryStore.open(data_dir, mlflow=False)
    engine = Engine(data_dir=data_dir, sinks=[local.sink], deployment=Deployment(), **engine_args)
    paused = collect(engine.run(load_workflow_file(EXAMPLE), {}, owner="alice", run_id="waiting"))
    assert paused[-1].type == "run_interrupted"
    for events in sample_runs():
        record_all(local, events)
    assert local.flush(10)
    expected = answers(local.read_cursor())
    local.close()
    engine.state.close()

    assert main(["migrate-history", "--data-dir", str(data_dir)]) == 2  # no DSN: says which variable
    assert "GRAPHWRIGHT_POSTGRES_DSN" in capsys.readouterr().err
    monkeypatch.setenv("GRAPHWRIGHT_POSTGRES_DSN", fresh_dsn)
    assert main(["migrate-history", "--data-dir", str(data_dir)]) == 0
    assert "run records: 1," in capsys.readouterr().out

    pg = PgHistoryStore(fresh_dsn)
    try:
        got = answers(pg.read_cursor())
        for key, frame in expected.items():
            pd.testing.assert_frame_equal(got[key], frame, obj=key)
        cluster = Deployment.from_env()
        worker = Engine(data_dir=data_dir.parent / "worker", sinks=[pg.sink], deployment=cluster, **engine_args)
        done = collect(worker.resume("waiting", approval=ApprovalDecision(True, "ship it"), owner="alice"))
        worker.state.close()
        assert done[-1].type == "run_finished" and pg.flush(10)
        sent = [e for e in paused + done if e.type == "llm_call"]
        assert len(sent) == len(llm_server.requests) == 2  # resumed from the moved checkpoint, not redone
        row = pg.read_cursor().execute("SELECT status, segments FROM runs WHERE run_id = 'waiting'").fetchone()
        assert row == ("finished", 2)
    finally:
        pg.close()

    assert main(["migrate-history", "--data-dir", str(data_dir)]) == 0  # again: nothing copied twice
    assert "runs: 0 new rows, steps: 0 new rows, llm_calls: 0 new rows" in capsys.readouterr().out
