"""Versioned schema of the history file: an ordered list of migrations (simonw/llm style).

A data directory written by an older graphwright opens with newer code: `migrate` applies, in
order, every migration above the version recorded in `schema_version`, each in its own
transaction. Never edit a released migration; append a new one.

Why `superseded` columns instead of unique keys: a run resumed after a crash re-runs the work its
checkpoint lost (the step in flight, and any step whose result was not saved yet). Every attempt
stays recorded (it cost real money and is worth seeing), but totals must count each step once. A
resume names the events its checkpoint holds (`RunStarted.accounted`) and the writer flags the
other rows of earlier segments `superseded`, so every query just says `NOT superseded` -- and
appends stay index-free and fast.
"""

from __future__ import annotations

import logging

import duckdb

from history.errors import MigrationError

log = logging.getLogger(__name__)

_V1 = """
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    owner VARCHAR NOT NULL DEFAULT '',
    workflow VARCHAR NOT NULL DEFAULT '',
    default_model VARCHAR NOT NULL DEFAULT '',
    status VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    duration_s DOUBLE,
    tokens_in BIGINT NOT NULL DEFAULT 0,
    tokens_out BIGINT NOT NULL DEFAULT 0,
    cost_usd DOUBLE NOT NULL DEFAULT 0,
    reason VARCHAR,
    message VARCHAR,
    failed_step VARCHAR,
    inputs VARCHAR
);
CREATE TABLE steps (
    run_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    step_id VARCHAR NOT NULL,
    step_type VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    duration_s DOUBLE NOT NULL,
    tokens_in BIGINT NOT NULL,
    tokens_out BIGINT NOT NULL,
    cost_usd DOUBLE NOT NULL,
    model VARCHAR,
    attempts INTEGER NOT NULL,
    error VARCHAR
);
CREATE TABLE llm_calls (
    run_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    step_id VARCHAR,
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    tokens_in BIGINT NOT NULL,
    tokens_out BIGINT NOT NULL,
    cost_usd DOUBLE NOT NULL,
    unpriced BOOLEAN NOT NULL,
    synthetic BOOLEAN NOT NULL,
    latency_s DOUBLE NOT NULL,
    ttft_s DOUBLE,
    error VARCHAR
);
CREATE TABLE events (
    id BIGINT NOT NULL,
    run_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    type VARCHAR NOT NULL,
    step_id VARCHAR,
    payload VARCHAR NOT NULL
);
"""

# v2: resumed runs (segments + superseded copies), owner/workflow copied onto the big tables so
# per-user dashboards filter without a join, and the MLflow trace id.
_V2 = """
ALTER TABLE runs ADD COLUMN segments INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN mlflow_trace_id VARCHAR;
ALTER TABLE steps ADD COLUMN owner VARCHAR NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN workflow VARCHAR NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN iteration INTEGER;
ALTER TABLE steps ADD COLUMN superseded BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE llm_calls ADD COLUMN owner VARCHAR NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN workflow VARCHAR NOT NULL DEFAULT '';
ALTER TABLE llm_calls ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE llm_calls ADD COLUMN superseded BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE events ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
UPDATE steps SET owner = r.owner, workflow = r.workflow FROM runs r WHERE steps.run_id = r.run_id;
UPDATE llm_calls SET owner = r.owner, workflow = r.workflow FROM runs r WHERE llm_calls.run_id = r.run_id;
"""

# v3: model calls are stored once, in `llm_calls` (with the event-log id that orders replay), no
# longer also as JSON in `events` -- half the rows and no JSON for the most frequent event.
_V3 = """
ALTER TABLE llm_calls ADD COLUMN id BIGINT;
UPDATE llm_calls SET id = e.id FROM events e
WHERE e.type = 'llm_call' AND e.run_id = llm_calls.run_id AND e.segment = llm_calls.segment AND e.seq = llm_calls.seq;
DELETE FROM events WHERE type = 'llm_call';
"""

# v4: the quota ledger -- one row per admitted run, so quotas survive a restart (`history.quotas`).
# `billed`: the run may use the operator's keys (false when the visitor brought their own).
_V4 = """
CREATE TABLE quota_ledger (
    owner VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    admitted_at TIMESTAMP NOT NULL,
    billed BOOLEAN NOT NULL
);
"""

# v5: named artifacts a step wrote (the file stays in the run's folder; this row says what it is).
_V5 = """
CREATE TABLE artifacts (
    run_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    step_id VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    owner VARCHAR NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, name)
);
"""

# Config versions (issue 17): the exact config each run ran, stored once per (owner, content hash)
# (`schemas.versions`), with the text the person wrote, the chat turn that produced it and when it
# was first seen. `runs.config_hash` names it; `estimate_*` is the pre-run cost estimate, kept so
# the estimator's error can be shown beside what runs really cost.
_V_CONFIG_VERSIONS = """
CREATE TABLE IF NOT EXISTS config_versions (
    owner VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    workflow VARCHAR NOT NULL,
    canonical VARCHAR NOT NULL,
    original VARCHAR NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL DEFAULT '',
    chat_turn INTEGER,
    chat_request VARCHAR,
    PRIMARY KEY (owner, hash)
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS config_hash VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS estimate_usd DOUBLE;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS estimate_worst_usd DOUBLE;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS estimate_tokens BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS estimate_worst_tokens BIGINT;
"""

# Results of declared checks (`graphwright test`, "Run checks"): one row per attempt of a case,
# with the case's verdict repeated on each, so pass rates group by config version and model.
_V_CHECK_RESULTS = """
CREATE TABLE IF NOT EXISTS check_results (
    check_run_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    owner VARCHAR NOT NULL DEFAULT '',
    workflow VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL DEFAULT '',
    model VARCHAR NOT NULL,
    case_name VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    case_passed BOOLEAN NOT NULL,
    reason VARCHAR NOT NULL DEFAULT '',
    judge_verdict BOOLEAN,
    judge_reason VARCHAR NOT NULL DEFAULT '',
    judge_model VARCHAR NOT NULL DEFAULT '',
    cost_usd DOUBLE NOT NULL,
    tokens BIGINT NOT NULL,
    latency_s DOUBLE NOT NULL,
    judge_cost_usd DOUBLE NOT NULL,
    judge_tokens BIGINT NOT NULL,
    findings VARCHAR NOT NULL DEFAULT '[]'
);
"""

# Anonymous owner ids whose runs a signed-in visitor claimed (`history.claims`): each one once.
_V_OWNER_CLAIMS = """
CREATE TABLE owner_claims (
    anon_owner VARCHAR PRIMARY KEY,
    claimed_by VARCHAR NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    runs INTEGER NOT NULL
);
"""

# Replay (issue 17): each step execution's full output (JSON), which execution it was (loop rounds
# and map item, as `orchestrator.replay.execution_key`), a route's case, and whether a replay served
# the output from its source run; a replay run names its source run.
_V_REPLAY = """
ALTER TABLE steps ADD COLUMN IF NOT EXISTS output VARCHAR;
ALTER TABLE steps ADD COLUMN IF NOT EXISTS execution VARCHAR;
ALTER TABLE steps ADD COLUMN IF NOT EXISTS item_index INTEGER;
ALTER TABLE steps ADD COLUMN IF NOT EXISTS branch VARCHAR;
ALTER TABLE steps ADD COLUMN IF NOT EXISTS served BOOLEAN DEFAULT false;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS source_run_id VARCHAR;
"""

# How far each spool of the history inbox was ingested (`history.inbox`): the mark commits in the same
# transaction as the spool's rows, so reading a spool again (a crash before it was deleted) adds nothing.
_V_INBOX = """
CREATE TABLE IF NOT EXISTS inbox_ingested (
    spool VARCHAR PRIMARY KEY,
    upto BIGINT NOT NULL,
    ingested_at TIMESTAMP NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (
    _V1, _V2, _V3, _V4, _V5, _V_CONFIG_VERSIONS, _V_CHECK_RESULTS, _V_OWNER_CLAIMS, _V_REPLAY, _V_INBOX,
)
# Bookkeeping of this one file, not history rows: never copied to PostgreSQL (`history.pg_schema`).
LOCAL_TABLES = ("schema_version", "inbox_ingested")
CURRENT_VERSION = len(MIGRATIONS)

# Column order of the appended tables (the writer builds rows in exactly this order).
STEP_COLUMNS = (
    "run_id", "seq", "ts", "step_id", "step_type", "status", "duration_s", "tokens_in", "tokens_out",
    "cost_usd", "model", "attempts", "error", "owner", "workflow", "segment", "iteration", "superseded",
    "output", "execution", "item_index", "branch", "served",
)  # fmt: skip
CALL_COLUMNS = (
    "run_id", "seq", "ts", "step_id", "model", "provider", "attempt", "tokens_in", "tokens_out",
    "cost_usd", "unpriced", "synthetic", "latency_s", "ttft_s", "error", "owner", "workflow",
    "segment", "superseded", "id",
)  # fmt: skip
EVENT_COLUMNS = ("id", "run_id", "seq", "ts", "type", "step_id", "payload", "segment")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, upto: int = CURRENT_VERSION) -> int:
    """Bring the file to `upto` (default: current); returns the version it ends at."""
    version = schema_version(con)
    if version > CURRENT_VERSION:
        raise MigrationError(
            f"the history file has schema version {version}, newer than this graphwright "
            f"understands ({CURRENT_VERSION}): upgrade graphwright or use another data directory"
        )
    for number in range(version + 1, upto + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(MIGRATIONS[number - 1])
            con.execute("INSERT INTO schema_version VALUES (?)", [number])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"history migration {number} failed: {exc}") from exc
        log.info("history schema migrated to version %d", number)
    return max(version, upto)
