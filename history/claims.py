"""A signed-in visitor claims the runs they made anonymously in the same browser, once.

    moved = claim_anonymous_runs(store, data_dir, "anon-…", "hf:ada")   # raises ClaimRefused

Before signing in, a visitor's runs belong to the random owner id their browser keeps; after
signing in they belong to `hf:<name>`. Nothing moves by itself (whoever holds an anonymous id could
otherwise push runs into an account): the visitor asks, with a button. Every table that carries the
owner moves in one transaction (every table with an `owner` column, found in the schema so a new
table is never left behind; a row the account already has, e.g. the same config version, is kept
once) and so do the resumable runs; the anonymous id is recorded as claimed, so a second claim of it is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from history.errors import ClaimRefused
from history.store import HistoryStore
from orchestrator.checkpoints import RUNS_FILE_NAME, RunStore

_ANONYMOUS = re.compile(r"anon-[0-9a-f]{32}")


def claimable_runs(store: HistoryStore, anon_owner: str) -> int:
    """How many runs `anon_owner` has that could be claimed (0 once claimed)."""
    if not _ANONYMOUS.fullmatch(anon_owner or ""):
        return 0
    cur = store.read_cursor()
    if cur.execute("SELECT 1 FROM owner_claims WHERE anon_owner = ?", [anon_owner]).fetchone():
        return 0
    return int(cur.execute("SELECT count(*) FROM runs WHERE owner = ?", [anon_owner]).fetchone()[0])


def claim_anonymous_runs(store: HistoryStore, data_dir: Path, anon_owner: str, new_owner: str) -> int:
    """Move every run of `anon_owner` to `new_owner` and record the claim; returns the runs moved."""
    if not _ANONYMOUS.fullmatch(anon_owner or ""):
        raise ClaimRefused("there are no anonymous runs in this browser to claim")
    if not new_owner or new_owner.startswith("anon-"):
        raise ClaimRefused("sign in first: runs are claimed into your account")
    cur = store.read_cursor()
    if cur.execute("SELECT 1 FROM owner_claims WHERE anon_owner = ?", [anon_owner]).fetchone():
        raise ClaimRefused("this browser's anonymous runs were claimed already")
    runs = int(cur.execute("SELECT count(*) FROM runs WHERE owner = ?", [anon_owner]).fetchone()[0])
    keyed = _keyed_tables(store)
    moves = [move for table in owned_tables(store) for move in _move_owner(table, table in keyed, anon_owner, new_owner)]
    store.transaction_now([*moves, ("INSERT INTO owner_claims VALUES (?, ?, ?, ?)",
                                    [anon_owner, new_owner, datetime.now(UTC).replace(tzinfo=None), runs])])
    if (Path(data_dir) / RUNS_FILE_NAME).exists():  # the resumable runs follow their history
        run_store = RunStore(Path(data_dir))
        try:
            run_store.reassign(anon_owner, new_owner)
        finally:
            run_store.close()
    return runs


def owned_tables(store: HistoryStore) -> list[str]:
    """Every history table with an `owner` column (read from the schema, not listed by hand)."""
    rows = store.read_cursor().execute(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'owner' "
        "AND table_schema = 'main' ORDER BY table_name").fetchall()
    return [name for (name,) in rows]


def _keyed_tables(store: HistoryStore) -> set[str]:
    rows = store.read_cursor().execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
        "AND list_contains(constraint_column_names, 'owner')").fetchall()
    return {name for (name,) in rows}


def _move_owner(table: str, keyed: bool, old: str, new: str) -> list[tuple[str, list[str]]]:
    """Move `old`'s rows to `new`; where the key includes the owner, a row `new` already has (same config version) is kept once."""
    if not keyed:
        return [(f"UPDATE {table} SET owner = ? WHERE owner = ?", [new, old])]
    return [(f"INSERT OR IGNORE INTO {table} SELECT * REPLACE (? AS owner) FROM {table} WHERE owner = ?", [new, old]),
            (f"DELETE FROM {table} WHERE owner = ?", [old])]
