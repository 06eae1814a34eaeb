"""Quotas in cluster mode: the ledger is in PostgreSQL, so every app replica counts the same runs."""

from __future__ import annotations

import pytest

from history.errors import QuotaExceeded
from history.pg_store import PgHistoryStore
from history.quotas import QuotaLimits, Quotas, Visitor

pytestmark = pytest.mark.cluster
LIMITS = {"anonymous": QuotaLimits(concurrent_runs=5, runs_per_hour=3, tokens_per_day=10**6, cost_per_day_usd=10.0),
          "signed_in": QuotaLimits(concurrent_runs=5, runs_per_hour=3, tokens_per_day=10**6, cost_per_day_usd=10.0)}


def test_runs_admitted_on_one_replica_count_on_the_other(fresh_dsn: str) -> None:
    replicas = [PgHistoryStore(fresh_dsn) for _ in range(2)]
    try:
        first, second = (Quotas(store, LIMITS) for store in replicas)
        alice, bob = Visitor("alice"), Visitor("bob")
        for run_id in ("a1", "a2"):
            with first.admit(alice, run_id):
                pass
        with second.admit(alice, "a3"):
            pass
        used = {line.name: line.used for line in first.report(alice)}
        assert used["runs per hour"] == 3
        with pytest.raises(QuotaExceeded, match="runs per hour"):
            with second.admit(alice, "a4"):
                pass
        with first.admit(bob, "b1"):  # another visitor's share is untouched
            pass
    finally:
        for store in replicas:
            store.close()
