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
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import duckdb

from history.scrub import redact, scrub
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
    # rows in the column order of migrations.*_COLUMNS, `ts` as epoch seconds
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    new_runs: list[tuple[Any, ...]] = field(default_factory=list)  # inserted first, in bulk
    ops: list[RunOp] = field(default_factory=list)  # rare statements (resumes, supersedes), in order
    ends: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # last terminal event per run, in bulk
    done: set[str] = field(default_factory=set)  # runs that ended for good
    # cluster mode: (fence, {list: (start, end)}, set the run's end) of rows written under a fencing token
    fenced: list[tuple[Any, dict[str, tuple[int, int]], bool]] = field(default_factory=list)


@dataclass
class _Run:
    owner: str
    workflow: str
    segment: int
    in_db: bool = False
    iterations: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class SetTraceId:
    """A queued command (not an event): remember the MLflow trace id of a run."""

    run_id: str
    trace_id: str


@dataclass(frozen=True)
class InboxChunk:
    """Events read from a run-history spool (`history.inbox`), written with the spool's mark in one
    transaction: a chunk is recorded exactly once, however often its spool is read again."""

    spool: str  # the spool's name
    upto: int  # its last spool row in this chunk: the mark committed with the rows
    events: tuple[ev.Event, ...]


# How far each spool was ingested (local only: `history.migrations.LOCAL_TABLES`).
MARK_SQL = "INSERT OR REPLACE INTO inbox_ingested (spool, upto, ingested_at) VALUES (?, ?, ?)"


def _flat(items: list[Any]) -> list[Any]:
    return [e for i in items for e in (i.events if isinstance(i, InboxChunk) else (i,))]


_TERMINAL_STATUS = MappingProxyType({
    "run_finished": "finished",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
    "run_interrupted": "interrupted",
})

INSERT_RUNS_SQL = """
INSERT INTO runs (run_id, owner, workflow, default_model, status, started_at, inputs, segments,
                  config_hash, estimate_usd, estimate_worst_usd, estimate_tokens, estimate_worst_tokens)
SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 'running',
       unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[]), 1, unnest(?::VARCHAR[]), unnest(?::DOUBLE[]),
       unnest(?::DOUBLE[]), unnest(?::BIGINT[]), unnest(?::BIGINT[])
ON CONFLICT DO NOTHING
"""

# A version is stored once per owner: the first run that ran it names its first-seen time and turn.
_VERSION_SQL = """
INSERT INTO config_versions (owner, hash, workflow, canonical, original, first_seen, source, chat_turn, chat_request)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
"""

# Terminal events of a batch in one statement (the last one per run); lists are zipped by unnest.
END_RUNS_SQL = """
UPDATE runs SET status = e.status, finished_at = e.ts,
    duration_s = CASE WHEN e.duration > 0 THEN e.duration ELSE greatest(epoch(e.ts) - epoch(runs.started_at), 0) END,
    reason = e.reason, message = e.message, failed_step = e.failed_step,
    tokens_in = e.tin, tokens_out = e.tout, cost_usd = e.cost
FROM (
    SELECT unnest(?::VARCHAR[]) AS run_id, unnest(?::VARCHAR[]) AS status, unnest(?::TIMESTAMP[]) AS ts,
           unnest(?::DOUBLE[]) AS duration, unnest(?::VARCHAR[]) AS reason, unnest(?::VARCHAR[]) AS message,
           unnest(?::VARCHAR[]) AS failed_step, unnest(?::BIGINT[]) AS tin, unnest(?::BIGINT[]) AS tout,
           unnest(?::DOUBLE[]) AS cost
) AS e
WHERE runs.run_id = e.run_id
"""


def columns(rows: list[tuple[Any, ...]] | Any) -> list[list[Any]]:
    """Row tuples to one list per column (the parameters of the bulk statements above)."""
    return [list(c) for c in zip(*rows, strict=True)]

# A resume flags the rows of earlier segments whose results its checkpoint does not hold: work the
# crash lost, which runs again (`RunStarted.accounted`, exact even when parallel branches were lost).
# The ledger is the whole truth, so a row it holds counts again: in cluster mode a stale attempt's
# checkpoint can land after a newer attempt started from an older one (which flagged the row), and a
# later attempt resumes from it without re-making that work.
_SUPERSEDE_SQL = """
UPDATE {table} SET superseded = NOT superseded
WHERE run_id = ? AND segment < ? AND superseded = (seq IN (SELECT unnest(?::BIGINT[])))
"""


_ARTIFACT_SQL = """
INSERT OR REPLACE INTO artifacts (run_id, name, step_id, format, bytes, sha256, ts, owner)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

# The first 15 columns of CALL_COLUMNS, read in one C call (this runs once per model call).
_call_fields = attrgetter(
    "run_id", "seq", "ts", "step_id", "model", "provider", "attempt", "tokens_in", "tokens_out", "cost_usd",
    "unpriced", "synthetic", "latency_s", "ttft_s", "error",
)  # fmt: skip


class Tracker:
    """Converts events to rows; owned by the writer thread only."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._runs: dict[str, _Run] = {}
        self._next_id = next_event_id(con)

    def prepare(self, items: list[Any]) -> None:
        """Load, in one query, the runs this batch mentions that are not in memory (a query per
        run costs milliseconds: this is what keeps ingest fast)."""
        unknown = {i.run_id for i in _flat(items) if not isinstance(i, SetTraceId) and i.run_id not in self._runs}
        if unknown:
            rows = self._con.execute(
                "SELECT run_id, owner, workflow, segments - 1 FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(unknown)],
            ).fetchall()
            for run_id, owner, workflow, segment in rows:
                self._runs[run_id] = _Run(owner, workflow, segment, in_db=True)

    def new_id(self) -> int:
        """The next event-log id (one writer per file: a counter; PostgreSQL: a shared sequence)."""
        self._next_id += 1
        return self._next_id - 1

    def finish_batch(self, batch: Batch) -> None:
        for run_id in batch.done:  # forget runs that ended for good (memory stays bounded)
            self._runs.pop(run_id, None)

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:  # events of a run whose start was never recorded
            run = self._runs[run_id] = _Run("", "", 0)
        return run

    def add(self, item: ev.Event | SetTraceId | InboxChunk, batch: Batch) -> None:
        batch.count += 1
        if isinstance(item, InboxChunk):
            for event in item.events:
                self._add(event, batch)
            batch.ops.append(RunOp(MARK_SQL, [item.spool, item.upto, datetime.now(UTC).replace(tzinfo=None)]))
            return
        self._add(item, batch)

    def _add(self, item: ev.Event | SetTraceId, batch: Batch) -> None:
        if isinstance(item, SetTraceId):
            batch.ops.append(RunOp("UPDATE runs SET mlflow_trace_id = ? WHERE run_id = ?", [item.trace_id, item.run_id]))
            return
        if type(item) is ev.LLMCall:  # the hot path: one row in llm_calls, no JSON
            run = self._runs.get(item.run_id) or self._run(item.run_id)
            if item.error:
                item = item.model_copy(update={"error": redact(item.error)})
            batch.calls.append(_call_fields(item) + (run.owner, run.workflow, run.segment, False, self.new_id()))
            return
        item, payload = scrub(item)
        if isinstance(item, ev.RunStarted):
            self._start(item, batch)
        run = self._run(item.run_id)
        ts = item.ts  # epoch seconds: the writer converts whole columns at once
        step_id = getattr(item, "step_id", None)
        batch.events.append((self.new_id(), item.run_id, item.seq, ts, item.type, step_id, payload, run.segment))
        match item:
            case ev.StepStarted():
                run.iterations[item.step_id] = item.iteration
            case ev.StepFinished():
                self._step_finished(item, run, ts, batch)
            case ev.ArtifactWritten():  # a later write of the same name (a loop) replaces the row
                batch.ops.append(RunOp(_ARTIFACT_SQL, [item.run_id, item.name, item.step_id, item.format,
                                                       item.bytes, item.sha256, utc(ts), run.owner]))
            case ev.RunFinished() | ev.RunFailed() | ev.RunCancelled() | ev.RunInterrupted():
                self._end(item, ts, batch)

    def _start(self, item: ev.RunStarted, batch: Batch) -> None:
        run = self._runs.get(item.run_id)
        if run is None or not run.in_db:
            self._runs[item.run_id] = _Run(item.owner, item.workflow, 0, in_db=True)
            version = item.version
            batch.new_runs.append(
                (item.run_id, item.owner, item.workflow, item.default_model, utc(item.ts), _json(item.inputs),
                 item.config_hash or None, *_estimate(version))
            )
            if version is not None and item.config_hash:
                batch.ops.append(RunOp(_VERSION_SQL, [
                    item.owner, item.config_hash, item.workflow, version.canonical, redact(version.original),
                    utc(item.ts), version.source, version.chat_turn, redact(version.chat_request) or None,
                ]))
            if item.source_run_id:  # a replay names the run it replays
                batch.ops.append(RunOp("UPDATE runs SET source_run_id = ? WHERE run_id = ?",
                                       [item.source_run_id, item.run_id]))
        else:  # a resume: a new segment of the same run; the owner stays the original one
            run.segment += 1
            run.iterations.clear()
            batch.ends.pop(item.run_id, None)  # a pause earlier in this batch is over
            batch.done.discard(item.run_id)
            batch.ops.append(RunOp(
                "UPDATE runs SET status = 'running', segments = ?, finished_at = NULL, reason = NULL,"
                " message = NULL, failed_step = NULL WHERE run_id = ?",
                [run.segment + 1, item.run_id],
            ))  # fmt: skip
            if item.accounted is not None:
                for table in ("steps", "llm_calls"):
                    batch.ops.append(RunOp(_SUPERSEDE_SQL.format(table=table),
                                           [item.run_id, run.segment, item.accounted]))

    def _step_finished(self, item: ev.StepFinished, run: _Run, ts: float, batch: Batch) -> None:
        iteration = run.iterations.get(item.step_id)
        batch.steps.append((
            item.run_id, item.seq, ts, item.step_id, item.step_type, item.status, item.duration_s,
            item.tokens_in, item.tokens_out, item.cost_usd, item.model, item.attempts, item.error,
            run.owner, run.workflow, run.segment, iteration, False,
            None if item.status != "ok" else _json(item.output), item.execution, item.item_index, item.branch,
            item.served,
        ))  # fmt: skip

    def _end(self, item: ev.Event, ts: float, batch: Batch) -> None:
        finished = isinstance(item, ev.RunFinished)
        batch.ends[item.run_id] = (
            item.run_id, _TERMINAL_STATUS[item.type], utc(ts), item.duration_s if finished else 0.0,
            getattr(item, "reason", None), getattr(item, "message", None), getattr(item, "step_id", None),
            item.tokens_in if finished else 0, item.tokens_out if finished else 0,
            item.cost_usd if finished else 0.0,
        )  # fmt: skip
        if not isinstance(item, ev.RunInterrupted):  # an interrupted run is likely to resume soon
            batch.done.add(item.run_id)


def next_event_id(con: duckdb.DuckDBPyConnection) -> int:
    """Event-log ids are shared by `events` and `llm_calls`: together they order a replay."""
    row = con.execute(
        "SELECT greatest((SELECT coalesce(max(id), 0) FROM events), (SELECT coalesce(max(id), 0) FROM llm_calls))"
    ).fetchone()
    return int(row[0]) + 1 if row else 1


def _estimate(version: ev.RunVersion | None) -> tuple[Any, ...]:
    if version is None:
        return (None, None, None, None)
    return (version.estimate_usd, version.estimate_worst_usd, version.estimate_tokens, version.estimate_worst_tokens)


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


# A finished run's totals are the ones its `RunFinished` reported (the engine's checkpointed
# counters). A run that ended otherwise (failed, cancelled, interrupted) has spent what its model
# calls cost so far, superseded attempts (work a resume re-ran) left out.
TOTALS_SQL = """
UPDATE runs SET tokens_in = t.tin, tokens_out = t.tout, cost_usd = t.cost
FROM (
    SELECT run_id, sum(tokens_in) AS tin, sum(tokens_out) AS tout, sum(cost_usd) AS cost
    FROM llm_calls WHERE NOT superseded AND run_id IN (SELECT unnest(?::VARCHAR[]))
    GROUP BY run_id
) AS t
WHERE runs.run_id = t.run_id
"""
