"""Quotas in cluster mode: the ledger is in PostgreSQL, so every app replica counts the same runs."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from history.errors import QuotaExceeded
from history.pg_store import PgHistoryStore
from history.quotas import QuotaLimits, Quotas, Visitor

pytestmark = pytest.mark.cluster
LIMITS = {"anonymous": QuotaLimits(concurrent_runs=5, runs_per_hour=3, tokens_per_day=10**6, cost_per_day_usd=10.0),
          "signed_in": QuotaLimits(concurrent_runs=5, runs_per_hour=3, tokens_per_day=10**6, cost_per_day_usd=10.0)}
CAP_TWO = {tier: replace(limits, concurrent_runs=2, runs_per_hour=100) for tier, limits in LIMITS.items()}
CRASHING_REPLICA = """
import sys, time
from history.pg_slots import PgRunSlots
PgRunSlots(sys.argv[1], lease_s=1.0).take("alice", 1)
print("holding", flush=True)
time.sleep(60)
"""


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


def test_a_visitor_cannot_pass_the_concurrent_cap_by_spreading_runs_over_replicas(fresh_dsn: str) -> None:
    replicas = [PgHistoryStore(fresh_dsn) for _ in range(2)]
    try:
        first, second = (Quotas(store, CAP_TWO) for store in replicas)
        alice = Visitor("alice")
        with first.admit(alice, "a1"), second.admit(alice, "a2"):
            for replica in (first, second):
                with pytest.raises(QuotaExceeded, match="concurrent runs"), replica.admit(alice, "a3"):
                    pass
            assert first.report(alice)[0].used == second.report(alice)[0].used == 2
            with second.admit(Visitor("bob"), "b1"):  # another visitor's slots are their own
                pass
        with pytest.raises(asyncio.CancelledError), first.admit(alice, "a4"), second.admit(alice, "a5"):
            raise asyncio.CancelledError  # Stop: the run's stream is cancelled inside the block
        with first.admit(alice, "a6"), second.admit(alice, "a7"):  # finished and stopped runs gave theirs back
            pass
    finally:
        for store in replicas:
            store.close()


def test_a_crashed_replica_holds_no_slot_past_its_lease(fresh_dsn: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", CRASHING_REPLICA, fresh_dsn], stdout=subprocess.PIPE, text=True)
    store = PgHistoryStore(fresh_dsn)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        holder.send_signal(signal.SIGKILL)  # the replica dies mid-run: it releases nothing
        holder.wait(10)
        quotas = Quotas(store, {tier: replace(limits, concurrent_runs=1) for tier, limits in CAP_TWO.items()})
        with pytest.raises(QuotaExceeded, match="concurrent runs"), quotas.admit(Visitor("alice"), "a1"):
            pass
        time.sleep(1.2)  # its lease (1 s here, 30 s by default) runs out
        with quotas.admit(Visitor("alice"), "a2"):
            pass
    finally:
        store.close()
        if holder.poll() is None:
            holder.kill()


def test_two_replicas_admitting_a_visitor_at_the_same_instant_never_pass_the_hourly_quota(fresh_dsn: str) -> None:
    """Check and record are one step across replicas (before: each replica's own lock; both admitted the last run)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    replicas = [PgHistoryStore(fresh_dsn) for _ in range(2)]
    hourly = {tier: replace(limits, concurrent_runs=50, runs_per_hour=2) for tier, limits in LIMITS.items()}
    visitors, per_replica = [f"v{i}" for i in range(6)], 3
    try:
        quotas = [Quotas(store, hourly) for store in replicas]
        for q in quotas:
            q.report(Visitor("warm-up"))  # each replica's analytics copy is caught up once before the race
        admitted: dict[str, int] = dict.fromkeys(visitors, 0)
        count = threading.Lock()

        def admit(replica: Quotas, owner: str, n: int, start: threading.Barrier) -> None:
            start.wait()
            try:
                with replica.admit(Visitor(owner), f"{owner}-{id(replica)}-{n}"):
                    with count:
                        admitted[owner] += 1
            except QuotaExceeded:
                pass

        with ThreadPoolExecutor(2 * per_replica) as pool:
            for owner in visitors:  # one race per visitor: every replica's clicks released at once
                start = threading.Barrier(2 * per_replica)
                list(pool.map(admit, *zip(*[(q, owner, n, start) for q in quotas for n in range(per_replica)],
                                          strict=True)))
        ledger = {owner: replicas[0].read_cursor().execute(
            "SELECT count(*) FROM quota_ledger WHERE owner = ?", [owner]).fetchone()[0] for owner in visitors}
    finally:
        for store in replicas:
            store.close()
    assert admitted == dict.fromkeys(visitors, 2)
    assert ledger == admitted
