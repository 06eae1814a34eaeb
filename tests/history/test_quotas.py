"""Per-visitor quotas: refused before a run starts, with which quota, what is left and when it resets.

The clock is fixed at T0 (2026-09-21 14:13:20 UTC) so reset times are known; usage comes from the
real history file (the ledger and the recorded model calls), so it survives a restart.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from history.errors import QuotaExceeded
from history.quotas import ANONYMOUS, SIGNED_IN, QuotaLimits, Quotas, Visitor, limits_from_env
from history.store import HistoryStore
from tests.history.helpers import T0, Call, Step, record_all, run_events

ALICE, BOB = Visitor("anon-alice"), Visitor("anon-bob")
TIGHT = {"anonymous": QuotaLimits(concurrent_runs=2, runs_per_hour=3, tokens_per_day=1_000, cost_per_day_usd=0.10),
         "signed_in": QuotaLimits(concurrent_runs=4, runs_per_hour=30, tokens_per_day=10_000, cost_per_day_usd=1.0)}


def _quotas(store: HistoryStore, at: float = T0 + 60) -> Quotas:
    return Quotas(store, TIGHT, clock=lambda: at)


def _run(quotas: Quotas, visitor: Visitor, run_id: str, calls: list[Call] = ()) -> None:  # type: ignore[assignment]
    """Admit a run and record what it spent, as the Run tab and the engine do."""
    with quotas.admit(visitor, run_id):
        record_all(quotas.store, run_events(run_id, owner=visitor.owner_id, steps=[Step("s", 1.0, list(calls))]))
    quotas.store.flush(10)


def test_runs_per_hour_are_refused_before_they_start_saying_when_they_reset(store: HistoryStore) -> None:
    quotas = _quotas(store)
    for n in range(3):
        _run(quotas, ALICE, f"a{n}")
    with pytest.raises(QuotaExceeded, match=r"runs per hour quota is used up \(runs per hour: 3 of 3 used, 0 left, "
                                            r"resets at 15:14 UTC\)") as refused:
        _run(quotas, ALICE, "a3")
    assert refused.value.quota == "runs per hour"
    assert store.read_cursor().execute("SELECT count(*) FROM quota_ledger WHERE run_id = 'a3'").fetchone() == (0,)
    _run(quotas, BOB, "b0")  # another visitor's quota is their own
    _run(_quotas(store, at=T0 + 60 + 3601), ALICE, "a4")  # an hour later it has reset


def test_tokens_and_cost_per_day_count_every_recorded_call(store: HistoryStore) -> None:
    quotas = _quotas(store)
    _run(quotas, ALICE, "a0", [Call("m", 0.01, 0.1, tokens_in=700, tokens_out=300)])
    with pytest.raises(QuotaExceeded, match=r"tokens per day: 1,000 of 1,000 used, 0 left, resets at 2026-09-22 00:00"):
        _run(quotas, ALICE, "a1")
    _run(quotas, BOB, "b0", [Call("m", 0.25, 0.1, tokens_in=1, tokens_out=1)])
    with pytest.raises(QuotaExceeded, match=r"cost per day: \$0.25 of \$0.10 used, \$0.00 left"):
        _run(quotas, BOB, "b1")
    _run(_quotas(store, at=T0 + 86_400), ALICE, "a2")  # a new UTC day


def test_a_visitor_with_their_own_key_is_not_charged_against_the_owners_quota(store: HistoryStore) -> None:
    quotas = _quotas(store)
    own = Visitor(ALICE.owner_id, own_key=True)
    for n in range(5):  # more than the hourly quota, and a day's tokens
        _run(quotas, own, f"own{n}", [Call("m", 0.5, 0.1, tokens_in=5_000)])
    _run(quotas, ALICE, "billed")  # their own runs did not use up the owner's quota
    assert [line.used for line in quotas.report(ALICE)[1:]] == [1, 0, 0.0]


def test_concurrent_runs_are_capped_per_visitor_and_others_go_on(store: HistoryStore) -> None:
    quotas = _quotas(store)
    with quotas.admit(ALICE, "a0"), quotas.admit(ALICE, "a1"):
        with pytest.raises(QuotaExceeded, match="you already have 2 run"):
            _run(quotas, ALICE, "a2")
        with pytest.raises(QuotaExceeded, match="you already have 2 run"):
            with quotas.admit(Visitor(ALICE.owner_id, own_key=True)):  # own key: the fair share still applies
                pass
        _run(quotas, BOB, "b0")
        assert quotas.report(ALICE)[0].used == 2
    _run(quotas, ALICE, "a2")


def test_several_visitors_at_once_get_exactly_their_quota(store: HistoryStore) -> None:
    quotas = _quotas(store)
    admitted: list[str] = []
    refused: list[str] = []

    def visit(visitor: Visitor, n: int) -> None:
        try:
            _run(quotas, visitor, f"{visitor.owner_id}-{n}")
            admitted.append(visitor.owner_id)
        except QuotaExceeded as exc:
            refused.append(exc.quota)

    visitors = [Visitor(f"anon-{i}") for i in range(4)]
    threads = [threading.Thread(target=visit, args=(v, n)) for v in visitors for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for visitor in visitors:  # never more than the hourly quota, however the 24 clicks interleave
        assert 1 <= admitted.count(visitor.owner_id) <= 3
    assert len(admitted) + len(refused) == 24 and set(refused) <= {"runs per hour", "concurrent runs"}


def test_quotas_survive_a_restart(data_dir: Path) -> None:
    with HistoryStore.open(data_dir, mlflow=False) as first:
        for n in range(3):
            _run(_quotas(first), ALICE, f"a{n}")
    with HistoryStore.open(data_dir, mlflow=False) as again:
        with pytest.raises(QuotaExceeded, match="runs per hour"):
            _run(_quotas(again), ALICE, "a3")


def test_signed_in_visitors_get_more_than_anonymous_ones_and_the_operator_sets_both() -> None:
    assert all(getattr(SIGNED_IN, f) > getattr(ANONYMOUS, f) for f in ANONYMOUS.__dataclass_fields__)
    tiers = limits_from_env({"GRAPHWRIGHT_QUOTA_ANON_RUNS_PER_HOUR": "5", "GRAPHWRIGHT_QUOTA_USER_COST_PER_DAY_USD": "2.5"})
    assert tiers["anonymous"].runs_per_hour == 5 and tiers["signed_in"].cost_per_day_usd == 2.5
    assert tiers["anonymous"].tokens_per_day == ANONYMOUS.tokens_per_day
    assert Quotas(None, tiers).limits_for(Visitor("user:ann", signed_in=True)) == tiers["signed_in"]
    with pytest.raises(ValueError, match="GRAPHWRIGHT_QUOTA_ANON_CONCURRENT_RUNS='two' is not a whole number"):
        limits_from_env({"GRAPHWRIGHT_QUOTA_ANON_CONCURRENT_RUNS": "two"})
