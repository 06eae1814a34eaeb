"""The soak: 40 concurrent runs on workers while one worker after another is SIGKILLed, ten times.

Real Temporal dev server, real PostgreSQL, real `graphwright worker` processes; the models are the
loopback LLM server, which counts every request. Every run must finish with the totals of an
uninterrupted run; history must charge each model call once (the requests the server answered are
compared with history's rows and the ledger); rows committed before a kill must still be there;
and the tool's side effect (a line in a file, `soak_tool.record`) must happen at most once per run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest
from runs_testing import app_executor, drain, history_totals, run_tag
from soak_tool import EFFECTS_ENV

from orchestrator.tool_journal import INTERRUPTED
from schemas import load_workflow
from schemas.functions import MODULES_ENV
from testkit.replies import Reply, ToolCallSpec

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(900)]

RUNS, KILLS, WORKERS = 40, 10, 4
CALLS_PER_RUN = 4  # fetch: the tool call, then its answer; mid; last
USAGE = {"prompt_tokens": 100, "completion_tokens": 10}
SOAK = """
version: 1
name: soak
default_model: openai/gpt-4o-mini
inputs: {tag: {}}
tools:
  record: {type: function, function: record}
agents:
  r: {role: Recorder, tools: [record]}
  w: {role: Writer}
steps:
  - {id: fetch, type: agent, agent: r, prompt: 'Record {{ inputs.tag }}'}
  - {id: mid, type: agent, agent: w, prompt: 'Mid {{ steps.fetch.output }}'}
  - {id: last, type: agent, agent: w, prompt: 'Last {{ steps.mid.output }}'}
"""


def soak_model(unknown: set[str], cuts: list[int]):
    """Deterministic answers with fixed usage; a careful model that does not repeat a call of unknown outcome.
    Slow while kills remain (so they land mid-run), then quick."""

    def answer(req) -> Reply:
        latency = 1.0 if len(cuts) < KILLS else 0.2
        user = next(str(m.get("content")) for m in reversed(req.messages) if m.get("role") == "user")
        tool_says = [str(m.get("content")) for m in req.messages if m.get("role") == "tool"]
        tag = run_tag(user)
        if req.tools and not tool_says:
            return Reply(tool_calls=[ToolCallSpec("record", {"tag": tag})], usage=USAGE, latency=latency)
        if any(text.startswith(INTERRUPTED[:60]) for text in tool_says):
            unknown.add(tag)
        return Reply(text=f"{user.split()[0].lower()} {tag}", usage=USAGE, latency=latency)

    return answer


def committed_rows(dsn: str) -> set[tuple[str, int]]:
    import psycopg

    with psycopg.connect(dsn) as con:
        return set(con.execute("SELECT run_id, seq FROM events").fetchall())


def test_forty_runs_survive_ten_worker_kills_counting_every_call_once(cluster, llm_server, monkeypatch,
                                                                      tmp_path) -> None:
    effects = tmp_path / "effects.txt"
    effects.touch()
    monkeypatch.setenv(MODULES_ENV, "tests.cluster.soak_tool")  # the app validates the config with it
    cluster.extra_env.update({MODULES_ENV: "tests.cluster.soak_tool", EFFECTS_ENV: str(effects)})
    unknown: set[str] = set()
    cuts: list[int] = []  # segments open on each killed worker
    llm_server.set_default(soak_model(unknown, cuts))
    worker_args = ("--max-runs", str(RUNS))
    cluster.start_workers(WORKERS, *worker_args)
    wf = load_workflow(SOAK, "soak.yaml")
    acked: set[tuple[str, int]] = set()

    async def kill_workers_mid_run(runs: list[asyncio.Task]) -> None:
        progress = 0
        while len(cuts) < KILLS:
            await asyncio.sleep(0.2)
            assert not all(run.done() for run in runs), f"every run ended after only {len(cuts)} kills"
            if len(llm_server.requests) < progress + 6:
                continue  # the runs move on between kills
            polling = await asyncio.to_thread(cluster.polling_pids)
            alive = [i for i, w in enumerate(cluster.workers) if w.poll() is None and w.pid in polling]
            busy = {i: n for i in alive if (n := cluster.open_segments(i)) > 0}
            if len(alive) < 3 or not busy:
                continue  # two workers or more stay; the victim is cut mid-run
            victim = max(busy, key=busy.__getitem__)
            acked.update(await asyncio.to_thread(committed_rows, cluster.dsn))
            os.kill(cluster.workers[victim].pid, signal.SIGKILL)
            cluster.workers[victim].wait()
            cuts.append(busy[victim])
            progress = len(llm_server.requests)
            cluster.spawn_worker(*worker_args)  # its replacement polls once it has imported

    async def soak() -> list[list]:
        runs = [asyncio.create_task(drain(app_executor(cluster).run(wf, {"tag": f"s{i}"}, run_id=f"soak{i}")))
                for i in range(RUNS)]
        await kill_workers_mid_run(runs)
        return await asyncio.gather(*runs)

    began = time.monotonic()
    results = asyncio.run(soak())
    took = time.monotonic() - began

    ends = [events[-1] for events in results]
    charged_each = CALLS_PER_RUN * USAGE["prompt_tokens"]
    statuses, charged, calls = history_totals(cluster.dsn)
    rows = call_rows(cluster.dsn)
    live = Counter(run for run, superseded in rows if not superseded)
    final = committed_rows(cluster.dsn)
    requests = Counter(f"soak{run_tag(' '.join(str(m.get('content')) for m in r.messages))[1:]}"
                       for r in llm_server.requests)
    resumed = Counter(e.run_id for events in results for e in events if e.type == "run_started" and e.resumed)
    recorded = Counter(run for run, _ in rows)
    hits = Counter(effects.read_text().split())
    print(f"\n[soak] {RUNS} runs, {len(cuts)} SIGKILLs (segments cut per kill: {cuts}) in {took:.0f} s; "
          f"{sum(resumed.values())} segments resumed; model requests {len(llm_server.requests)}, history rows "
          f"{len(rows)} ({sum(live.values())} counted, {RUNS} x {CALLS_PER_RUN} expected; "
          f"{len(rows) - sum(live.values())} superseded); tool effects {sum(hits.values())}, calls of unknown "
          f"outcome {len(unknown)}; committed rows checked {len(acked)}, lost {len(acked - final)}")

    assert [(e.type, getattr(e, "output", e)) for e in ends] == [("run_finished", f"last s{i}") for i in range(RUNS)]
    assert {e.tokens_in for e in ends} == {charged_each}
    runs = {f"soak{i}" for i in range(RUNS)}
    assert statuses == dict.fromkeys(runs, "finished")
    assert charged == dict.fromkeys(runs, charged_each)  # the ledger
    assert calls == dict.fromkeys(runs, charged_each)  # the rows it is made of
    assert live == dict.fromkeys(runs, CALLS_PER_RUN)  # each call counted once
    assert not acked - final, f"committed history rows lost: {sorted(acked - final)[:5]}"
    for run in runs:  # every answered request has its row; a kill loses at most the one call in flight
        assert recorded[run] <= requests[run] <= recorded[run] + resumed[run], (run, requests[run], recorded[run])
    assert all(hits[f"s{i}"] <= 1 for i in range(RUNS)), hits  # at most once
    assert all(hits[f"s{i}"] == 1 for i in range(RUNS) if f"s{i}" not in unknown), hits
    assert len(cuts) == KILLS and min(cuts) >= 1


def call_rows(dsn: str) -> list[tuple[str, bool]]:
    import psycopg

    with psycopg.connect(dsn) as con:
        return con.execute("SELECT run_id, superseded FROM llm_calls").fetchall()

