"""Turn the event stream into table rows and run-row operations, one batch at a time.

The tracker remembers, per live run, what later events need but do not carry: the owner and
workflow (copied onto every call/step row so per-user dashboards need no join), the segment (how
many times the run was started: 0 first, +1 per resume) and the iteration of each step. Rows are
built before the write transaction, so a failed write can be retried with the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from history.scrub import scrub
from orchestrator import events as ev


def utc(ts: float) -> datetime:
    """Event time (epoch seconds) as a naive UTC timestamp, the form every table stores."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


@dataclass
class RunOp:
    """One statement on the small tables, applied in event order after the batch's appends."""

    sql: str
    params: list[Any]


@dataclass
class Batch:
    count: int = 0  # queue items this batch acknowledges when it commits
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    ops: list[RunOp] = field(default_factory=list)
    ended: set[str] = field(default_factory=set)  # runs whose totals must be recomputed
    started: list[str] = field(default_factory=list)


@dataclass
class _Run:
    owner: str
    workflow: str
    segment: int
    iterations: dict[str, int | None] = field(default_factory=dict)
    finished_keys: set[tuple[str, int | None]] = field(default_factory=set)


@dataclass(frozen=True)
class SetTraceId:
    """A queued command (not an event): remember the MLflow trace id of a run."""

    run_id: str
    trace_id: str


_TERMINAL_STATUS = {
    "run_finished": "finished",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
    "run_interrupted": "interrupted",
}

_FINISH_SQL = """
UPDATE runs SET status = ?, finished_at = ?,
    duration_s = CASE WHEN ? > 0 THEN ? ELSE greatest(epoch(?::TIMESTAMP) - epoch(started_at), 0) END,
    reason = ?, message = ?, failed_step = ?,
    tokens_in = ?, tokens_out = ?, cost_usd = ?
WHERE run_id = ?
"""

# A re-run after a crash duplicates at most the step that finished last before it: flag that one.
_SUPERSEDE_STEP_SQL = """
UPDATE steps SET superseded = true
WHERE run_id = ? AND segment = ? AND step_id = ? AND iteration IS NOT DISTINCT FROM ? AND NOT superseded
  AND seq = (SELECT max(seq) FROM steps WHERE run_id = ? AND segment = ?)
"""

# ...and the calls of that copy (those of the step after its previous finish in the same segment).
_SUPERSEDE_STEP_CALLS_SQL = """
UPDATE llm_calls SET superseded = true
WHERE run_id = ? AND segment = ? AND step_id = ? AND NOT superseded
  AND EXISTS (SELECT 1 FROM steps WHERE run_id = ? AND segment = ? AND step_id = ? AND superseded)
  AND seq > coalesce((SELECT max(seq) FROM steps WHERE run_id = ? AND segment = ? AND step_id = ? AND NOT superseded), -1)
"""

# Calls of an attempt that never finished (the step in flight when the process died).
_SUPERSEDE_CALLS_SQL = """
UPDATE llm_calls SET superseded = true
WHERE run_id = ? AND segment < ? AND NOT superseded AND NOT EXISTS (
    SELECT 1 FROM steps s WHERE s.run_id = llm_calls.run_id AND s.segment = llm_calls.segment
      AND s.step_id = llm_calls.step_id AND s.seq > llm_calls.seq)
"""


class Tracker:
    """Converts events to rows; owned by the writer thread only."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._runs: dict[str, _Run] = {}
        row = con.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        self._next_id = int(row[0]) + 1 if row else 1

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            row = self._con.execute(
                "SELECT owner, workflow, segments - 1 FROM runs WHERE run_id = ?", [run_id]
            ).fetchone()
            run = _Run(*row) if row else _Run("", "", 0)
            self._runs[run_id] = run
        return run

    def add(self, item: ev.Event | SetTraceId, batch: Batch) -> None:
        batch.count += 1
        if isinstance(item, SetTraceId):
            batch.ops.append(RunOp("UPDATE runs SET mlflow_trace_id = ? WHERE run_id = ?", [item.trace_id, item.run_id]))
            return
        item, payload = scrub(item)
        if isinstance(item, ev.RunStarted):
            self._start(item, batch)
        run = self._run(item.run_id)
        ts = utc(item.ts)
        step_id = getattr(item, "step_id", None)
        batch.events.append(
            (self._next_id, item.run_id, item.seq, ts, item.type, step_id, payload, run.segment)
        )
        self._next_id += 1
        match item:
            case ev.LLMCall():
                batch.calls.append((
                    item.run_id, item.seq, ts, item.step_id, item.model, item.provider, item.attempt,
                    item.tokens_in, item.tokens_out, item.cost_usd, item.unpriced, item.synthetic,
                    item.latency_s, item.ttft_s, item.error, run.owner, run.workflow, run.segment, False,
                ))  # fmt: skip
            case ev.StepStarted():
                run.iterations[item.step_id] = item.iteration
            case ev.StepFinished():
                self._step_finished(item, run, ts, batch)
            case ev.RunFinished() | ev.RunFailed() | ev.RunCancelled() | ev.RunInterrupted():
                self._end(item, ts, batch)

    def _start(self, item: ev.RunStarted, batch: Batch) -> None:
        known = item.run_id in self._runs or self._con.execute(
            "SELECT 1 FROM runs WHERE run_id = ?", [item.run_id]
        ).fetchone()
        if not known:
            self._runs[item.run_id] = _Run(item.owner, item.workflow, 0)
            batch.ops.append(RunOp(
                "INSERT INTO runs (run_id, owner, workflow, default_model, status, started_at, inputs, segments)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?, 1) ON CONFLICT DO NOTHING",
                [item.run_id, item.owner, item.workflow, item.default_model, utc(item.ts),
                 _json(item.inputs)],
            ))  # fmt: skip
        else:  # a resume: a new segment of the same run; the owner stays the original one
            run = self._run(item.run_id)
            run.segment += 1
            run.iterations.clear()
            run.finished_keys.clear()
            batch.ops.append(RunOp(
                "UPDATE runs SET status = 'running', segments = ?, finished_at = NULL, reason = NULL,"
                " message = NULL, failed_step = NULL WHERE run_id = ?",
                [run.segment + 1, item.run_id],
            ))  # fmt: skip
            batch.ops.append(RunOp(_SUPERSEDE_CALLS_SQL, [item.run_id, run.segment]))
        batch.started.append(item.run_id)

    def _step_finished(self, item: ev.StepFinished, run: _Run, ts: datetime, batch: Batch) -> None:
        iteration = run.iterations.get(item.step_id)
        key = (item.step_id, iteration)
        if run.segment > 0 and key not in run.finished_keys:
            prev = run.segment - 1
            batch.ops.append(RunOp(
                _SUPERSEDE_STEP_SQL, [item.run_id, prev, item.step_id, iteration, item.run_id, prev]
            ))  # fmt: skip
            batch.ops.append(RunOp(_SUPERSEDE_STEP_CALLS_SQL, [item.run_id, prev, item.step_id] * 3))
        run.finished_keys.add(key)
        batch.steps.append((
            item.run_id, item.seq, ts, item.step_id, item.step_type, item.status, item.duration_s,
            item.tokens_in, item.tokens_out, item.cost_usd, item.model, item.attempts, item.error,
            run.owner, run.workflow, run.segment, iteration, False,
        ))  # fmt: skip

    def _end(self, item: ev.Event, ts: datetime, batch: Batch) -> None:
        duration = item.duration_s if isinstance(item, ev.RunFinished) else 0.0
        reason = getattr(item, "reason", None)
        message = getattr(item, "message", None)
        failed_step = getattr(item, "step_id", None)
        tin, tout, cost = (
            (item.tokens_in, item.tokens_out, item.cost_usd) if isinstance(item, ev.RunFinished) else (0, 0, 0.0)
        )
        batch.ops.append(RunOp(_FINISH_SQL, [
            _TERMINAL_STATUS[item.type], ts, duration, duration, ts, reason, message, failed_step,
            tin, tout, cost, item.run_id,
        ]))  # fmt: skip
        batch.ended.add(item.run_id)
        if not isinstance(item, ev.RunInterrupted):  # an interrupted run is likely to resume soon
            self._runs.pop(item.run_id, None)


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


# Run totals come from the final step results (never from summing attempts), so a resumed run's
# re-run step is counted once. Runs without step rows keep the totals their RunFinished reported.
TOTALS_SQL = """
UPDATE runs SET tokens_in = t.tin, tokens_out = t.tout, cost_usd = t.cost
FROM (
    SELECT run_id, sum(tokens_in) AS tin, sum(tokens_out) AS tout, sum(cost_usd) AS cost
    FROM steps WHERE NOT superseded AND run_id IN (SELECT unnest(?::VARCHAR[]))
    GROUP BY run_id
) AS t
WHERE runs.run_id = t.run_id
"""
