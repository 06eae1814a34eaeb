"""Durability: the app is killed with SIGKILL at random points mid-run, 20 times.

Each "app process" is forked from a warm zygote (`fault_child.py`), opens the history store (which
marks the runs its predecessor left in flight as interrupted), resumes them and starts new ones,
and is killed at a random moment. Afterwards every run must have finished with the outputs and
the cost of an uninterrupted run, every row the store acknowledged must still be there, and each
run's tool side effect (an HTTP call to a counting server) must have happened exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from faults_testing import ROOT

from history.recovery import record_unrecorded_runs
from history.store import HistoryStore
from orchestrator.tool_journal import INTERRUPTED
from testkit.replies import Reply, ToolCallSpec

KILLS = 20
RUNS = 8  # at least; more are started while kills remain, so every kill lands on a run in flight
MAX_RUNS = 40
USAGE = {"prompt_tokens": 1_000, "completion_tokens": 100}

DURABLE = textwrap.dedent("""
    version: 1
    name: durable
    default_model: openai/gpt-4o-mini
    inputs: {tag: {}}
    tools:
      record: {type: http, description: Record the tag, allow: ['%s/*']}
    agents:
      w: {role: Recorder, tools: [record]}
      s: {role: Writer}
    steps:
      - {id: fetch, type: agent, agent: w, prompt: 'Record {{ inputs.tag }}'}
      - {id: alpha, type: agent, agent: s, prompt: 'Alpha {{ steps.fetch.output }}'}
      - id: both
        type: parallel
        branches:
          - {id: left, type: agent, agent: s, prompt: 'Left {{ steps.alpha.output }}'}
          - {id: right, type: agent, agent: s, prompt: 'Right {{ steps.alpha.output }}'}
      - {id: last, type: agent, agent: s, prompt: 'Last {{ steps.left.output }} {{ steps.right.output }}'}
""")


def durable_model(counter_url: str, unknown: set[str] | None = None) -> Any:
    """Deterministic answers (so a re-run step says the same), fixed usage, streamed slowly.

    A careful model: told that its tool call was cut by a crash (outcome unknown), it does not call
    again; the runs that saw this are added to `unknown` (their side effect ran at most once).
    """

    def answer(req: Any) -> Reply:
        user = next(str(m.get("content")) for m in reversed(req.messages) if m.get("role") == "user")
        tool_says = [str(m.get("content")) for m in req.messages if m.get("role") == "tool"]
        cut = any(text.startswith(INTERRUPTED[:60]) for text in tool_says)
        if cut and unknown is not None:
            unknown.add(user.split("Record ", 1)[1].split()[0])
        if req.tools and not cut and not any("recorded" in text for text in tool_says):
            tag = user.split("Record ", 1)[1].split()[0]
            return Reply(tool_calls=[ToolCallSpec("record", {"url": f"{counter_url}/hit/{tag}"})], usage=USAGE,
                         latency=0.05)
        words = user.split()
        return Reply(text=f"{words[0].lower()}({' '.join(words[1:3])}) noted in five more words", usage=USAGE,
                     chunk_delay=0.04)

    return answer


class Zygote:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_child.py"))], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert "zygote" in self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        return json.loads(line)

    def start(self, cmd: dict[str, Any]) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return int(self._read()["pid"])

    def wait(self) -> int:
        return int(self._read()["status"])

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # the last line of a killed process may be cut
            pass
    return out


def _wait_for(path: Path, pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(pred(x) for x in _lines(path)):
            return True
        time.sleep(0.005)
    return False


def _history(data_dir: Path) -> tuple[dict[str, str], set[tuple[str, str, int]], dict[str, tuple]]:
    """The next start: open the store (marks crashed runs), read statuses, row keys and totals."""
    with HistoryStore.open(data_dir, mlflow=False) as store:
        record_unrecorded_runs(store, data_dir)  # as the app does at start-up
        cur = store.read_cursor()
        statuses = dict(cur.execute("SELECT run_id, status FROM runs").fetchall())
        rows = {("steps", r, s) for r, s in cur.execute("SELECT run_id, seq FROM steps").fetchall()}
        rows |= {("llm_calls", r, s) for r, s in cur.execute("SELECT run_id, seq FROM llm_calls").fetchall()}
        totals = {r[0]: tuple(r[1:]) for r in cur.execute(
            "SELECT run_id, tokens_in, tokens_out, round(cost_usd, 9) FROM runs").fetchall()}
        calls = dict(cur.execute("SELECT run_id, sum(tokens_in) FROM llm_calls WHERE NOT superseded GROUP BY run_id"
                                 ).fetchall())
    for run_id, status in statuses.items():  # the calls a run is charged for add up to its total
        if status == "finished":
            assert calls.get(run_id, 0) == totals[run_id][0], f"{run_id}: calls {calls.get(run_id)} vs {totals[run_id]}"
    return statuses, rows, totals


def _engine_runs(data_dir: Path) -> dict[str, str]:
    path = data_dir / "runs.sqlite"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT run_id, status FROM graphwright_runs").fetchall())


def _checkpointed(data_dir: Path, run_id: str) -> bool:
    with sqlite3.connect(data_dir / "checkpoints.sqlite") as db:
        try:
            return db.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (run_id,)).fetchone() is not None
        except sqlite3.OperationalError:
            return False


@pytest.mark.slow
def test_twenty_kills_lose_nothing_and_resume_to_the_same_result(tmp_path, llm_server, counter, report) -> None:
    unknown: set[str] = set()  # runs killed while their tool call was in flight
    llm_server.set_default(durable_model(counter.url, unknown))
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    base = {"data_dir": str(data_dir), "base_url": llm_server.base_url, "workflow": DURABLE % counter.url}
    zygote = Zygote(env)
    rng = random.Random(20)
    kills = early_kills = before_checkpoint = segments = 0
    acked: set[tuple[str, str, int]] = set()
    finals: dict[str, dict[str, Any]] = {}
    missing_records: list[str] = []
    tags = [f"k{i}" for i in range(RUNS)]
    try:
        out = tmp_path / "ref.jsonl"  # an uninterrupted run: the reference for outputs and totals
        zygote.start({**base, "resume": [], "start": ["kref"], "out": str(out)})
        assert zygote.wait() == 0
        reference = next(x["full"] for x in _lines(out) if x.get("event") == "run_finished")
        while segments < 80:
            statuses, rows, _totals = _history(data_dir)
            lost = acked - rows
            assert not lost, f"acknowledged rows lost after a kill: {sorted(lost)[:5]}"
            engine_runs = _engine_runs(data_dir)
            missing_records += [r for r in engine_runs if r not in statuses and r not in missing_records]
            assert set(statuses.values()) <= {"finished", "interrupted"}, statuses
            resume = sorted(r for r, s in statuses.items() if s == "interrupted")
            resume += [r for r in engine_runs if r not in statuses and r not in resume]
            if kills < KILLS and len(tags) < MAX_RUNS and all(t in engine_runs for t in tags):
                tags.append(f"k{len(tags)}")  # kills remain but every run was started: one more
            start = [t for t in tags if t not in engine_runs][: max(0, 3 - len(resume))]
            if not resume and not start:
                break
            segments += 1
            out = tmp_path / f"seg{segments}.jsonl"
            pid = zygote.start({**base, "resume": resume, "start": start, "out": str(out)})
            if kills < KILLS:
                if start and kills % 4 == 0:  # right after a new run's RunStarted is recorded
                    _wait_for(out, lambda x, new=start: x.get("event") == "run_started" and x["run_id"] in new, 30)
                    early_kills += 1
                else:
                    _wait_for(out, lambda x: "ready" in x, 30)
                    time.sleep(rng.uniform(0.05, 2.5))
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
                status = zygote.wait()
                killed_early = [r for r in start if not _checkpointed(data_dir, r)]
                before_checkpoint += len(killed_early)
            else:
                status = zygote.wait()
                assert status == 0, f"an un-killed app process failed (status {status})"
            for line in _lines(out):
                acked |= {tuple(a) for a in line.get("ack", [])}
                if line.get("event") == "run_finished":
                    finals[line["run_id"]] = line["full"]
    finally:
        zygote.close()

    statuses, rows, totals = _history(data_dir)
    assert not acked - rows
    assert kills == KILLS and before_checkpoint >= 1
    assert {r: statuses.get(r) for r in tags} == {r: "finished" for r in tags}
    for tag in tags:
        expected = json.loads(json.dumps(reference["outputs"]).replace("kref", tag))
        assert finals[tag]["outputs"] == expected, tag
        final = (finals[tag]["tokens_in"], finals[tag]["cost_usd"])
        assert final == (reference["tokens_in"], reference["cost_usd"]), f"{tag}: engine counted {final}"
        assert totals[tag] == totals["kref"], f"{tag}: history counted {totals[tag]}, not {totals['kref']}"
    hits = {tag: counter.hits[f"/hit/{tag}"] for tag in [*tags, "kref"]}
    expected_hits = {tag: hits[tag] if tag in unknown and hits[tag] <= 1 else 1 for tag in hits}
    report.add("durability_kill9", runs=len(tags) + 1, kills=kills, early_kills=early_kills,
               runs_killed_before_first_checkpoint=before_checkpoint, app_segments=segments + 1,
               acknowledged_rows=len(acked), acknowledged_rows_lost=0, tool_hits=hits,
               runs_with_double_counted_totals=0, tool_calls_cut_by_a_kill=len(unknown))
    assert hits == expected_hits, f"tool side effects repeated (or lost) by crash-resume: {hits}"
    assert not missing_records, f"runs with no history record after a kill: {missing_records}"


def test_a_run_killed_before_its_history_record_is_recorded_and_resumable_at_the_next_start(
        data_dir, llm_server, llm_client, report) -> None:
    """The engine creates the run a moment before `RunStarted` reaches the history: die in between."""
    from faults_testing import collect, workflow

    from history.queries import resumable_runs
    from orchestrator.checkpoints import RunStore
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine

    wf = workflow("""
        version: 1
        name: early
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        steps: [{id: one, type: agent, agent: w, prompt: hello}]
    """)
    runs = RunStore(data_dir)
    runs.create("orphan", wf, {}, "alice", None)  # ...and the process died here
    runs.close()
    with HistoryStore.open(data_dir, mlflow=False) as store:
        assert record_unrecorded_runs(store, data_dir) == ["orphan"]
        assert record_unrecorded_runs(store, data_dir) == []  # once only
        listed = resumable_runs(store.read_cursor(), "alice")
        assert list(listed.run_id) == ["orphan"] and list(listed.workflow) == ["early"]
        llm_server.script(Reply(text="hi there"))
        engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials, policy=Policy(),
                        sinks=[store.sink])
        events = collect(engine.resume("orphan", owner="alice"))
        assert events[-1].type == "run_finished" and events[-1].outputs == {"one": "hi there"}
        assert store.flush(10)
        status = store.read_cursor().execute("SELECT status FROM runs WHERE run_id = 'orphan'").fetchone()[0]
    assert status == "finished"
    report.add("run_without_history_record", recovered=1)


@pytest.mark.slow
def test_a_tool_call_is_not_repeated_when_a_crash_resume_re_runs_its_step(tmp_path, llm_server, counter,
                                                                          report) -> None:
    """Killed after the tool ran but before its step finished: the re-run step must not call it again."""
    answer = durable_model(counter.url)
    stalled = {"on": True}

    def model(req: Any) -> Reply:
        reply = answer(req)
        waiting = any(m.get("role") == "tool" for m in req.messages) and stalled["on"]
        return Reply(text=reply.text, usage=USAGE, latency=60) if waiting else reply

    llm_server.set_default(model)
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    base = {"data_dir": str(data_dir), "base_url": llm_server.base_url, "workflow": DURABLE % counter.url}
    zygote = Zygote(env)
    try:
        pid = zygote.start({**base, "resume": [], "start": ["ktool"], "out": str(tmp_path / "a.jsonl")})
        deadline = time.monotonic() + 60
        while counter.hits["/hit/ktool"] < 1 or len(llm_server.requests) < 2:
            assert time.monotonic() < deadline, "the tool was never called"
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        zygote.wait()
        stalled["on"] = False
        statuses, _rows, _totals = _history(data_dir)
        assert statuses["ktool"] == "interrupted"
        zygote.start({**base, "resume": ["ktool"], "start": [], "out": str(tmp_path / "b.jsonl")})
        assert zygote.wait() == 0
    finally:
        zygote.close()
    finished = [x["full"] for x in _lines(tmp_path / "b.jsonl") if x.get("event") == "run_finished"]
    assert finished and finished[0]["outputs"]["fetch"].startswith("record(")
    report.add("tool_once_across_crash_resume", kills=1, tool_hits=counter.hits["/hit/ktool"])
    assert counter.hits["/hit/ktool"] == 1, "the crash-resume ran the tool's side effect again"
