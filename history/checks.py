"""Check results in history: write a `CheckReport`'s attempts, read pass rates by config version.

One row per attempt (`check_results`); the case's verdict is repeated on each row so a pass rate is
a plain average over distinct (check run, case). Reads take `owner` like every analytics query:
the UI passes the session's user, so each visitor sees only their own results.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from history.queries import Cursor, Filters, _bounds, _df
from history.scrub import redact
from orchestrator.checks.results import CheckReport

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "check_run_id", "ts", "owner", "workflow", "config_hash", "model", "case_name", "attempt", "run_id", "status",
    "passed", "case_passed", "reason", "judge_verdict", "judge_reason", "judge_model", "cost_usd", "tokens",
    "latency_s", "judge_cost_usd", "judge_tokens", "findings",
)  # fmt: skip
_INSERT = f"INSERT INTO check_results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def report_rows(report: CheckReport, owner: str) -> list[list[Any]]:
    """The rows of `report`, in `COLUMNS` order."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows: list[list[Any]] = []
    for case in report.cases:
        for a in case.attempts:
            findings = json.dumps([asdict(f) for f in a.findings], ensure_ascii=False)
            rows.append([report.check_run_id, now, owner, report.workflow, report.config_hash, report.model,
                         case.name, a.attempt, a.run_id, a.status, a.passed, case.passed,
                         redact("; ".join(a.reasons)), a.judge_verdict, redact(a.judge_reason),
                         a.judge_model, a.cost_usd, a.tokens, a.latency_s, a.judge_cost_usd, a.judge_tokens,
                         redact(findings)])
    return rows


def record_report(store: Any, report: CheckReport, owner: str) -> int:
    """Write every attempt of `report` at once (committed when this returns); the number of rows."""
    rows = report_rows(report, owner)
    for row in rows:
        store.execute_now(_INSERT, row)
    return len(rows)


def check_results(cur: Cursor, f: Filters, check_run_id: str | None = None) -> pd.DataFrame:
    """Rows of `check_results` (newest first), optionally of one check run."""
    where, params = _where(f, check_run_id)
    return _df(cur, f"SELECT * FROM check_results t {where} ORDER BY ts DESC, case_name, attempt", params)


def pass_rate_by_version(cur: Cursor, f: Filters) -> pd.DataFrame:
    """workflow, config_hash, model, check_runs, cases, passed, pass_rate, judge_cost_usd, last_run."""
    where, params = _where(f)
    return _df(cur, f"""
        SELECT workflow, config_hash, model, count(DISTINCT check_run_id) AS check_runs, count(*) AS cases,
               count(*) FILTER (case_passed) AS passed, avg(CAST(case_passed AS DOUBLE)) AS pass_rate,
               sum(judge_cost_usd) AS judge_cost_usd, max(ts) AS last_run
        FROM (SELECT check_run_id, workflow, config_hash, model, case_name, bool_and(case_passed) AS case_passed,
                     sum(judge_cost_usd) AS judge_cost_usd, max(ts) AS ts
              FROM check_results t {where} GROUP BY ALL)
        GROUP BY ALL ORDER BY last_run, workflow, model""", params)


def _where(f: Filters, check_run_id: str | None = None) -> tuple[str, list[Any]]:
    """WHERE clause for `check_results t` from fixed fragments (`status` filters the case's run status)."""
    lo, hi = _bounds(f)
    pairs = ((f.owner, "t.owner = ?"), (lo, "t.ts >= ?"), (hi, "t.ts < ?"), (f.workflow, "t.workflow = ?"),
             (f.model, "t.model = ?"), (f.status, "t.status = ?"), (f.version, "t.config_hash = ?"),
             (check_run_id, "t.check_run_id = ?"))
    used = [(value, fragment) for value, fragment in pairs if value is not None]
    if not used:
        return "", []
    return "WHERE " + " AND ".join(fragment for _, fragment in used), [value for value, _ in used]
