"""Every run records the config version it ran: app-style runs (with the chat turn and estimate)
and CLI runs alike, once per owner and hash, each owner seeing only their own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chatbot.run_origin import run_origin
from chatbot.state import ChatState
from graphwright.cli import main
from history.store import HistoryStore
from orchestrator.events import Event, RunOrigin
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow
from schemas.versions import config_hash

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief_writer.yaml"
TEXT = EXAMPLE.read_text()


def _run(engine: Engine, workflow: Any, owner: str, origin: RunOrigin | None = None) -> list[Event]:
    async def drain() -> list[Event]:
        return [e async for e in engine.run(workflow, {}, owner=owner, origin=origin)]

    return asyncio.run(drain())


@pytest.fixture
def store(data_dir: Path) -> Any:
    s = HistoryStore.open(data_dir, mlflow=False)
    yield s
    s.close()


def _engine(data_dir: Path, store: HistoryStore) -> Engine:
    return Engine(data_dir=data_dir, policy=Policy(default_model="offline/synthetic"), sinks=[store.sink])


KEY = "sk-proj-" + "Zx81Qw72Er63Ty54Ui45" * 2


def test_a_run_records_its_version_chat_turn_and_estimate(data_dir: Path, store: HistoryStore) -> None:
    workflow = load_workflow(TEXT)
    chat = ChatState(draft_yaml=TEXT, draft_turn=3, draft_request="make it a brief for teenagers")
    written = TEXT + f"# my key, for later: {KEY}\n"
    origin = run_origin(workflow, written, source="app", default_model="openai/gpt-4o", chat=chat)
    events = _run(_engine(data_dir, store), workflow, "alice", origin)
    assert events[-1].type == "run_finished"
    assert events[0].config_hash == config_hash(workflow)
    store.flush(10)
    cur = store.read_cursor()
    logged = cur.execute("SELECT payload FROM events WHERE type = 'run_started'").fetchone()[0]
    assert config_hash(workflow) in logged and "canonical" not in logged  # the text is stored once per version
    run = cur.execute("SELECT config_hash, estimate_usd, estimate_worst_usd, estimate_tokens FROM runs").fetchone()
    assert run[0] == config_hash(workflow) and 0 < run[1] <= run[2] and run[3] > 0
    row = cur.execute("SELECT owner, workflow, canonical, original, source, chat_turn, chat_request "
                      "FROM config_versions").fetchone()
    assert row[:2] == ("alice", "brief-writer")
    assert config_hash(load_workflow(row[2])) == run[0]
    assert row[3].startswith(TEXT) and KEY not in row[3] and "[REDACTED]" in row[3]
    assert KEY not in events[0].model_dump_json()
    assert row[4:] == ("app", 3, "make it a brief for teenagers")


def test_a_version_is_stored_once_per_owner(data_dir: Path, store: HistoryStore) -> None:
    workflow = load_workflow(TEXT)
    engine = _engine(data_dir, store)
    for owner in ("alice", "alice", "bob"):
        _run(engine, workflow, owner)
    _run(engine, load_workflow(TEXT.replace("five most", "three most")), "alice")
    store.flush(10)
    rows = store.read_cursor().execute(
        "SELECT owner, count(*) FROM config_versions GROUP BY owner ORDER BY owner").fetchall()
    assert rows == [("alice", 2), ("bob", 1)]
    hashes = store.read_cursor().execute("SELECT count(DISTINCT config_hash) FROM runs").fetchone()
    assert hashes == (2,)


def test_a_cli_run_records_its_version_and_the_file_as_written(data_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text(TEXT)
    assert main(["run", str(path), "--model", "offline/synthetic", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    with HistoryStore.open(data_dir, mlflow=False) as store:
        cur = store.read_cursor()
        run_hash, estimate = cur.execute("SELECT config_hash, estimate_tokens FROM runs").fetchone()
        source, original = cur.execute("SELECT source, original FROM config_versions").fetchone()
    assert run_hash == config_hash(load_workflow(TEXT)) and estimate > 0
    assert (source, original) == ("cli", TEXT)
