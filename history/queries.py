"""Named, read-only analytics queries: pure functions from (cursor, Filters) to a DataFrame.

No UI code here: the dashboards map these frames to charts. Every user value travels as a bound
parameter; the only SQL assembled at run time is a fixed set of filter fragments.

Cost semantics: a finished run's totals are the engine's (its `RunFinished`); other runs total
their model calls so far; call-level figures skip `superseded` rows (work a crash lost, which a
resume ran again), so a resumed run is never counted twice.
Success rate = finished / (finished + failed + cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import duckdb
import pandas as pd

from orchestrator import events as ev

Cursor = duckdb.DuckDBPyConnection


@dataclass(frozen=True)
class Filters:
    """What a dashboard shows. `owner` has no default on purpose: the UI passes the session's user;
    `owner=None` (all users) is for the admin CLI only."""

    owner: str | None
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None  # a `date` includes that whole day
    workflow: str | None = None
    model: str | None = None
    status: str | None = None
    version: str | None = None  # a config version's hash (`runs.config_hash`)


def _bounds(f: Filters) -> tuple[datetime | None, datetime | None]:
    lo, hi = f.date_from, f.date_to
    if lo is not None and not isinstance(lo, datetime):
        lo = datetime(lo.year, lo.month, lo.day)
    if hi is not None and not isinstance(hi, datetime):
        hi = datetime(hi.year, hi.month, hi.day) + timedelta(days=1)
    return lo, hi


def _where(
    f: Filters, kind: Literal["runs", "calls", "steps"], *, superseded: bool = False
) -> tuple[str, list[Any]]:
    """WHERE clause for table alias `t` (runs, llm_calls or steps) from fixed fragments."""
    ts = "t.started_at" if kind == "runs" else "t.ts"
    clauses: list[str] = [] if kind == "runs" or superseded else ["NOT t.superseded"]
    params: list[Any] = []
    lo, hi = _bounds(f)
    for value, fragment in (
        (f.owner, "t.owner = ?"),
        (lo, f"{ts} >= ?"),
        (hi, f"{ts} < ?"),
        (f.workflow, "t.workflow = ?"),
    ):
        if value is not None:
            clauses.append(fragment)
            params.append(value)
    if f.model is not None:
        clauses.append(
            "t.run_id IN (SELECT run_id FROM llm_calls WHERE model = ?)" if kind == "runs" else "t.model = ?"
        )
        params.append(f.model)
    if f.status is not None:
        clauses.append("t.status = ?" if kind == "runs" else "t.run_id IN (SELECT run_id FROM runs WHERE status = ?)")
        params.append(f.status)
    if f.version is not None:
        clauses.append("t.config_hash = ?" if kind == "runs"
                       else "t.run_id IN (SELECT run_id FROM runs WHERE config_hash = ?)")
        params.append(f.version)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _df(cur: Cursor, sql: str, params: list[Any]) -> pd.DataFrame:
    return cur.execute(sql, params).df()


def kpis(cur: Cursor, f: Filters) -> pd.DataFrame:
    """One row: runs, finished, failed, success_rate, total/avg cost, p50/p95 latency, tokens."""
    where, params = _where(f, "runs")
    return _df(cur, f"""
        SELECT count(*) AS runs,
               count(*) FILTER (status = 'finished') AS finished,
               count(*) FILTER (status = 'failed') AS failed,
               count(*) FILTER (status = 'finished')
                 / nullif(count(*) FILTER (status IN ('finished', 'failed', 'cancelled')), 0) AS success_rate,
               coalesce(sum(cost_usd), 0) AS total_cost_usd,
               avg(cost_usd) AS avg_cost_usd,
               quantile_cont(duration_s, 0.5) FILTER (status = 'finished') AS p50_latency_s,
               quantile_cont(duration_s, 0.95) FILTER (status = 'finished') AS p95_latency_s,
               CAST(coalesce(sum(tokens_in), 0) AS BIGINT) AS tokens_in,
               CAST(coalesce(sum(tokens_out), 0) AS BIGINT) AS tokens_out
        FROM runs t {where}""", params)  # fmt: skip


def cost_by_day(cur: Cursor, f: Filters) -> pd.DataFrame:
    """day, model, cost_usd, calls: the stacked cost chart."""
    where, params = _where(f, "calls")
    return _df(cur, f"""
        SELECT CAST(ts AS DATE) AS day, model, sum(cost_usd) AS cost_usd, count(*) AS calls
        FROM llm_calls t {where} GROUP BY ALL ORDER BY day, model""", params)


def cost_latency_by_workflow(cur: Cursor, f: Filters) -> pd.DataFrame:
    where, params = _where(f, "runs")
    return _df(cur, f"""
        SELECT workflow, count(*) AS runs, sum(cost_usd) AS total_cost_usd, avg(cost_usd) AS avg_cost_usd,
               quantile_cont(duration_s, 0.5) AS p50_latency_s, quantile_cont(duration_s, 0.95) AS p95_latency_s
        FROM runs t {where} GROUP BY workflow ORDER BY total_cost_usd DESC, workflow""", params)


def latency_by_step(cur: Cursor, f: Filters) -> pd.DataFrame:
    where, params = _where(f, "steps")
    return _df(cur, f"""
        SELECT workflow, step_id, step_type, count(*) AS runs,
               quantile_cont(duration_s, 0.5) AS p50_s, quantile_cont(duration_s, 0.95) AS p95_s,
               sum(cost_usd) AS cost_usd
        FROM steps t {where} GROUP BY ALL ORDER BY p95_s DESC, workflow, step_id""", params)


def latency_by_model(cur: Cursor, f: Filters) -> pd.DataFrame:
    """model, calls, p50_s, p95_s, avg_ttft_s, error_rate, cost_usd (time-to-first-token
    percentiles are `ttft_by_model`: each percentile pair sorts a column of every call)."""
    where, params = _where(f, "calls")
    return _df(cur, f"""
        SELECT model, calls, lat[1] AS p50_s, lat[2] AS p95_s, avg_ttft_s, error_rate, cost_usd
        FROM (SELECT model, count(*) AS calls, quantile_cont(latency_s, [0.5, 0.95]) AS lat,
                     avg(ttft_s) AS avg_ttft_s,
                     count(*) FILTER (error IS NOT NULL) / count(*) AS error_rate, sum(cost_usd) AS cost_usd
              FROM llm_calls t {where} GROUP BY model)
        ORDER BY p95_s DESC, model""", params)


def ttft_by_model(cur: Cursor, f: Filters) -> pd.DataFrame:
    """model, streamed (calls with a first-token time), p50_ttft_s, p95_ttft_s."""
    where, params = _where(f, "calls")
    where = f"{where} AND" if where else "WHERE"
    return _df(cur, f"""
        SELECT model, streamed, q[1] AS p50_ttft_s, q[2] AS p95_ttft_s
        FROM (SELECT model, count(*) AS streamed, quantile_cont(ttft_s, [0.5, 0.95]) AS q
              FROM llm_calls t {where} ttft_s IS NOT NULL GROUP BY model)
        ORDER BY p95_ttft_s DESC, model""", params)


_BUCKETS = MappingProxyType({"day": "CAST(ts AS DATE)", "hour": "date_trunc('hour', ts)"})  # a cast is 2x faster than date_trunc


def _bucket_sql(bucket: str) -> str:
    if bucket not in _BUCKETS:
        raise ValueError(f"bucket must be 'hour' or 'day', not {bucket!r}")
    return _BUCKETS[bucket]


def tokens_over_time(cur: Cursor, f: Filters, bucket: Literal["hour", "day"] = "day") -> pd.DataFrame:
    where, params = _where(f, "calls")
    return _df(cur, f"""
        SELECT {_bucket_sql(bucket)} AS bucket, CAST(sum(tokens_in) AS BIGINT) AS tokens_in,
               CAST(sum(tokens_out) AS BIGINT) AS tokens_out
        FROM llm_calls t {where} GROUP BY bucket ORDER BY bucket""", params)


def cost_over_time(cur: Cursor, f: Filters, bucket: Literal["hour", "day"] = "hour") -> pd.DataFrame:
    """bucket, model, cost_usd, calls: cost per model per hour (or day); the chart picks its own scale."""
    where, params = _where(f, "calls")
    return _df(cur, f"""
        SELECT {_bucket_sql(bucket)} AS bucket, model, sum(cost_usd) AS cost_usd, count(*) AS calls
        FROM llm_calls t {where} GROUP BY ALL ORDER BY bucket, model""", params)


def failures_by_reason(cur: Cursor, f: Filters) -> pd.DataFrame:
    """reason, runs: failed runs grouped by the engine's short failure kind."""
    where, params = _where(f, "runs")
    where = f"{where} AND" if where else "WHERE"
    return _df(cur, f"""
        SELECT coalesce(reason, 'unknown') AS reason, count(*) AS runs, max(started_at) AS last_seen
        FROM runs t {where} t.status = 'failed' GROUP BY 1 ORDER BY runs DESC, reason""", params)


_RUN_COLUMNS = """run_id, owner, workflow, status, started_at, finished_at, duration_s, tokens_in, tokens_out,
    cost_usd, reason, message, failed_step, default_model, segments, mlflow_trace_id, config_hash,
    (SELECT v.first_seen FROM config_versions v WHERE v.owner = t.owner AND v.hash = t.config_hash)
      AS version_first_seen, estimate_usd"""


def most_expensive_runs(cur: Cursor, f: Filters, limit: int = 10) -> pd.DataFrame:
    where, params = _where(f, "runs")
    return _df(cur, f"SELECT {_RUN_COLUMNS} FROM runs t {where} ORDER BY cost_usd DESC, started_at DESC LIMIT ?",
               [*params, int(limit)])  # fmt: skip


def list_runs(cur: Cursor, f: Filters, limit: int = 200, offset: int = 0) -> pd.DataFrame:
    """Newest first."""
    where, params = _where(f, "runs")
    return _df(cur, f"SELECT {_RUN_COLUMNS} FROM runs t {where} ORDER BY started_at DESC, run_id LIMIT ? OFFSET ?",
               [*params, int(limit), int(offset)])  # fmt: skip


def resumable_runs(cur: Cursor, owner: str | None) -> pd.DataFrame:
    """Runs that can go on from their checkpoints: interrupted (crashed, or paused for approval) or
    stopped by their user; not a run a rejection ended (the engine refuses to resume those)."""
    return _df(cur, f"""SELECT {_RUN_COLUMNS} FROM runs t
        WHERE (t.status = 'interrupted' OR (t.status = 'cancelled' AND coalesce(t.reason, '') <> 'rejected'))
          AND (? IS NULL OR t.owner = ?)
        ORDER BY started_at DESC, run_id LIMIT 1000""", [owner, owner])


def _owns(cur: Cursor, run_id: str, owner: str | None) -> bool:
    if owner is None:
        return True
    return cur.execute("SELECT 1 FROM runs WHERE run_id = ? AND owner = ?", [run_id, owner]).fetchone() is not None


def run_events(cur: Cursor, run_id: str, owner: str | None) -> pd.DataFrame:
    """The run's event log in emission order (segment = each start/resume); empty if not the owner's.

    Model calls live in `llm_calls` only; their JSON is rebuilt here so a replay sees every event.
    """
    return _df(
        cur,
        """
        SELECT segment, seq, ts, type, step_id, payload FROM (
            SELECT segment, seq, ts, type, step_id, payload, id FROM events WHERE run_id = ?
            UNION ALL
            SELECT segment, seq, ts, 'llm_call', step_id, CAST(to_json(struct_pack(
                run_id := run_id, seq := seq, ts := epoch(ts), type := 'llm_call', step_id := step_id,
                model := model, provider := provider, attempt := attempt, tokens_in := tokens_in,
                tokens_out := tokens_out, cost_usd := cost_usd, unpriced := unpriced, synthetic := synthetic,
                latency_s := latency_s, ttft_s := ttft_s, error := error)) AS VARCHAR), id
            FROM llm_calls WHERE run_id = ?
        )
        WHERE ? IS NULL OR ? IN (SELECT owner FROM runs WHERE run_id = ?)
        ORDER BY segment, seq, id""",
        [run_id, run_id, owner, owner, run_id],
    )


def replay(cur: Cursor, run_id: str, owner: str | None) -> list[ev.Event]:
    """The run's events as typed objects, ready to feed the same renderer as a live run."""
    return [ev.parse_event(p) for p in run_events(cur, run_id, owner)["payload"]]


def run_calls(cur: Cursor, run_id: str, owner: str | None) -> pd.DataFrame:
    """Every attempt of every model call of one run (superseded attempts included, flagged)."""
    if not _owns(cur, run_id, owner):
        return _df(cur, "SELECT * FROM llm_calls WHERE false", [])
    return _df(cur, "SELECT * FROM llm_calls WHERE run_id = ? ORDER BY segment, seq", [run_id])


def run_steps(cur: Cursor, run_id: str, owner: str | None) -> pd.DataFrame:
    if not _owns(cur, run_id, owner):
        return _df(cur, "SELECT * FROM steps WHERE false", [])
    return _df(cur, "SELECT * FROM steps WHERE run_id = ? ORDER BY segment, seq", [run_id])


def run_artifacts(cur: Cursor, run_id: str, owner: str | None) -> pd.DataFrame:
    """The named files a run's steps wrote (name, step, format, size, hash); empty if not the owner's."""
    if not _owns(cur, run_id, owner):
        return _df(cur, "SELECT * FROM artifacts WHERE false", [])
    return _df(cur, "SELECT name, step_id, format, bytes, sha256, ts FROM artifacts WHERE run_id = ? ORDER BY name",
               [run_id])


def workflows(cur: Cursor, owner: str | None) -> list[str]:
    """Choices for the workflow filter."""
    rows = cur.execute("SELECT DISTINCT workflow FROM runs WHERE ? IS NULL OR owner = ? ORDER BY 1", [owner, owner])
    return [r[0] for r in rows.fetchall()]


def models(cur: Cursor, owner: str | None) -> list[str]:
    """Choices for the model filter."""
    rows = cur.execute("SELECT DISTINCT model FROM llm_calls WHERE ? IS NULL OR owner = ? ORDER BY 1", [owner, owner])
    return [r[0] for r in rows.fetchall()]


DASHBOARDS = MappingProxyType({
    "kpis": kpis,
    "cost_by_day": cost_by_day,
    "cost_latency_by_workflow": cost_latency_by_workflow,
    "latency_by_step": latency_by_step,
    "latency_by_model": latency_by_model,
    "ttft_by_model": ttft_by_model,
    "tokens_over_time": tokens_over_time,
    "cost_over_time": cost_over_time,
    "failures_by_reason": failures_by_reason,
    "most_expensive_runs": most_expensive_runs,
})
