"""A signed-in visitor claims the runs they made anonymously in this browser: all of them, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from history.claims import claim_anonymous_runs, claimable_runs, owned_tables
from history.errors import ClaimRefused
from history.quotas import Quotas, Visitor
from history.store import HistoryStore
from orchestrator.checkpoints import RunStore
from schemas.loader import load_workflow_file
from tests.history.helpers import Call, Step, record_all, run_events

EXAMPLE = Path(__file__).parents[2] / "examples" / "one_persona.yaml"
ANON = "anon-" + "a" * 32
OTHER = "anon-" + "b" * 32


def _owned(store: HistoryStore, table: str, owner: str) -> int:
    return store.read_cursor().execute(f"SELECT count(*) FROM {table} WHERE owner = ?", [owner]).fetchone()[0]


def test_claiming_moves_every_row_of_the_anonymous_runs_and_only_those(store: HistoryStore, data_dir: Path) -> None:
    record_all(store, run_events("r1", owner=ANON, steps=[Step("s", 1.0, [Call("m", 0.1, 1.0)])]))
    record_all(store, run_events("r2", owner=ANON, end="interrupted"))
    record_all(store, run_events("o1", owner=OTHER, steps=[Step("s", 1.0, [Call("m", 0.1, 1.0)])]))
    store.execute_now("INSERT INTO quota_ledger VALUES (?, 'r1', now(), true)", [ANON])
    runs = RunStore(data_dir)
    runs.create("r2", load_workflow_file(EXAMPLE), {}, ANON, None)
    runs.close()
    store.flush(10)
    assert claimable_runs(store, ANON) == 2

    assert claim_anonymous_runs(store, data_dir, ANON, "hf:ada") == 2

    for table in ("runs", "steps", "llm_calls", "quota_ledger"):
        assert _owned(store, table, ANON) == 0, table
    assert _owned(store, "runs", "hf:ada") == 2 and _owned(store, "llm_calls", "hf:ada") == 1
    assert _owned(store, "runs", OTHER) == 1 and _owned(store, "llm_calls", OTHER) == 1
    runs = RunStore(data_dir)
    assert runs.get("r2").owner == "hf:ada"  # the interrupted run can be resumed by its new owner
    runs.close()
    assert Quotas(store).report(Visitor("hf:ada", signed_in=True))[1].used == 1  # the ledger moved too


def test_a_claim_happens_once_and_only_into_an_account(store: HistoryStore, data_dir: Path) -> None:
    record_all(store, run_events("r1", owner=ANON))
    store.flush(10)
    with pytest.raises(ClaimRefused, match="sign in"):
        claim_anonymous_runs(store, data_dir, ANON, OTHER)
    with pytest.raises(ClaimRefused, match="no anonymous runs"):
        claim_anonymous_runs(store, data_dir, "hf:eve", "hf:ada")
    claim_anonymous_runs(store, data_dir, ANON, "hf:ada")
    record_all(store, run_events("r3", owner=ANON))  # e.g. from a tab opened before the claim
    store.flush(10)
    assert claimable_runs(store, ANON) == 0
    with pytest.raises(ClaimRefused, match="claimed already"):
        claim_anonymous_runs(store, data_dir, ANON, "hf:eve")
    assert _owned(store, "runs", "hf:eve") == 0



def test_a_config_version_the_account_already_has_is_kept_once(tmp_path):
    """Owner-keyed rows (config versions) merge into the account instead of failing the claim."""
    store = HistoryStore(tmp_path / "h.duckdb")
    try:
        assert {"runs", "steps", "llm_calls", "config_versions", "check_results"} <= set(owned_tables(store))
        cur = store.read_cursor()
        for owner in (ANON, "hf:ada"):
            cur.execute("INSERT INTO config_versions (owner, hash, workflow, canonical, original, first_seen) "
                        "VALUES (?, 'h1', 'w', 'c', 'o', now())", [owner])
        cur.execute("INSERT INTO runs (run_id, owner, workflow, status, started_at) VALUES ('r1', ?, 'w', 'succeeded', now())", [ANON])
        assert claim_anonymous_runs(store, tmp_path, ANON, "hf:ada") == 1
        owners = cur.execute("SELECT owner FROM config_versions ORDER BY owner").fetchall()
        assert owners == [("hf:ada",)]
        assert cur.execute("SELECT owner FROM runs").fetchall() == [("hf:ada",)]
    finally:
        store.close()
