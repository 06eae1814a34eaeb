"""Config versions in history: which versions a person ran, and how their runs compare.

A version is a workflow's content hash (`schemas.versions`); `config_versions` keeps its text once
per owner, `runs.config_hash` says which one each run ran. Every query here takes the owner and
filters by it (None is all owners: the admin CLI only), like `history.queries`.

Comparing two versions uses the same `Filters` (so the same period) for both sides: runs, cost,
tokens, latency p50/p95, failure rate, the pre-run estimate against the actual cost, and the check
pass rate (the share of check cases that passed, from `check_results`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from history.queries import Cursor, Filters, _where

# The runs of each version in the filter: totals, percentiles, failures and the estimator's error.
_BY_VERSION = """
SELECT t.workflow, t.config_hash AS version, min(v.first_seen) AS first_seen, count(*) AS runs,
       avg(t.cost_usd) AS avg_cost_usd, sum(t.cost_usd) AS total_cost_usd,
       avg(t.tokens_in + t.tokens_out) AS avg_tokens,
       quantile_cont(t.duration_s, 0.5) FILTER (t.status = 'finished') AS p50_latency_s,
       quantile_cont(t.duration_s, 0.95) FILTER (t.status = 'finished') AS p95_latency_s,
       count(*) FILTER (t.status = 'failed')
         / nullif(count(*) FILTER (t.status IN ('finished', 'failed', 'cancelled')), 0) AS failure_rate,
       avg(t.estimate_usd) FILTER (t.status = 'finished') AS avg_estimate_usd,
       avg(t.cost_usd) FILTER (t.status = 'finished' AND t.estimate_usd IS NOT NULL) AS avg_actual_usd,
       avg(t.estimate_tokens) FILTER (t.status = 'finished') AS avg_estimate_tokens,
       avg(t.tokens_in + t.tokens_out) FILTER (t.status = 'finished' AND t.estimate_tokens IS NOT NULL)
         AS avg_actual_tokens,
       count(*) FILTER (t.status = 'finished' AND t.cost_usd > t.estimate_worst_usd) AS above_worst_case
FROM runs t LEFT JOIN config_versions v ON v.owner = t.owner AND v.hash = t.config_hash
{where} GROUP BY t.workflow, t.config_hash ORDER BY t.workflow, first_seen
"""

# Per case, not per attempt: a case with `repeat: 3` that passed its threshold counts once, passed.
_CHECK_PASS_RATE = """
SELECT config_hash AS version, avg(CAST(case_passed AS DOUBLE)) AS check_pass_rate, count(*) AS checks
FROM (SELECT config_hash, check_run_id, case_name, bool_and(case_passed) AS case_passed
      FROM check_results t {where} GROUP BY ALL)
GROUP BY config_hash
"""


@dataclass(frozen=True)
class VersionText:
    """One stored version: its hash, the workflow it names, and both texts."""

    hash: str
    workflow: str
    canonical: str
    original: str
    first_seen: object
    source: str
    chat_turn: int | None
    chat_request: str | None


def by_version(cur: Cursor, f: Filters, versions: list[str] | None = None) -> pd.DataFrame:
    """One row per (workflow, version) run in the filter, oldest version first; `versions` narrows it.

    The estimator's error is `avg_actual_usd / avg_estimate_usd` over finished runs that recorded
    an estimate (and the same for tokens); `above_worst_case` counts runs that cost more than the
    estimate's worst case.
    """
    where, params = _where(f, "runs")
    if versions:
        where = f"{where} AND" if where else "WHERE"
        where += " t.config_hash IN (SELECT unnest(?::VARCHAR[]))"
        params = [*params, list(versions)]
    frame = cur.execute(_BY_VERSION.format(where=where), params).df()
    frame["check_pass_rate"] = _pass_rates(cur, f, frame["version"].tolist())
    return frame


def _pass_rates(cur: Cursor, f: Filters, versions: list[str]) -> list[float | None]:
    """The check pass rate of each version (None for a version whose checks never ran)."""
    where, params = _where(Filters(owner=f.owner, date_from=f.date_from, date_to=f.date_to, workflow=f.workflow),
                           "calls", superseded=True)
    rates = {v: rate for v, rate, _n in cur.execute(_CHECK_PASS_RATE.format(where=where), params).fetchall()}
    return [rates.get(v) for v in versions]


def compare(cur: Cursor, f: Filters, a: str, b: str) -> pd.DataFrame:
    """Versions `a` and `b` side by side over the same filter: one row each, in that order."""
    frame = by_version(cur, f, [a, b]).set_index("version")
    return frame.reindex([a, b]).reset_index()


def versions(cur: Cursor, owner: str | None, workflow: str | None = None) -> pd.DataFrame:
    """The versions a person ran, newest first: hash, workflow, first seen, runs, last run, origin."""
    return cur.execute("""
        SELECT v.hash AS version, v.workflow, v.first_seen, count(r.run_id) AS runs, max(r.started_at) AS last_run,
               v.source, v.chat_turn
        FROM config_versions v LEFT JOIN runs r ON r.owner = v.owner AND r.config_hash = v.hash
        WHERE (? IS NULL OR v.owner = ?) AND (? IS NULL OR v.workflow = ?)
        GROUP BY ALL ORDER BY v.first_seen DESC, v.hash""", [owner, owner, workflow, workflow]).df()


def version_text(cur: Cursor, owner: str | None, version: str) -> VersionText | None:
    """A stored version by its hash (or an unambiguous prefix of it, as people copy short hashes)."""
    rows = cur.execute("""
        SELECT hash, workflow, canonical, original, first_seen, source, chat_turn, chat_request
        FROM config_versions WHERE (? IS NULL OR owner = ?) AND starts_with(hash, ?)
        ORDER BY first_seen LIMIT 2""", [owner, owner, version.strip().lower()]).fetchall()
    if len(rows) != 1 or not version.strip():
        return None
    return VersionText(*rows[0])
