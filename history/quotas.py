"""Per-visitor quotas for a public deployment: refused before a run starts, kept across restarts.

    quotas = Quotas(store)                                  # limits from the environment
    with quotas.admit(Visitor("anon-…"), run_id):           # raises QuotaExceeded, else holds a run slot
        ...run...
    quotas.report(visitor)                                  # what Settings shows

Four quotas per visitor: concurrent runs (the history store's `run_slots()`: in memory locally, what
runs ends with the process; leases in PostgreSQL shared by every app replica in cluster mode), runs per
rolling hour (checked and recorded in one step by the store's `run_ledger()`, across replicas too),
and tokens and cost per UTC day (from the ledger in the history file, so a restart
forgets nothing). Anonymous visitors get stricter defaults than signed-in ones; the operator sets
both through `GRAPHWRIGHT_QUOTA_{ANON,USER}_{CONCURRENT_RUNS,RUNS_PER_HOUR,TOKENS_PER_DAY,
COST_PER_DAY_USD}`. A run on the visitor's own keys (`Visitor.own_key`) is recorded but not
billed: only the concurrency cap (their fair share of the server) applies to it.

Tokens and cost are counted from the model calls recorded so far: a run in flight counts as it
goes, and each run's own `limits.max_cost_usd` bounds how far one run can overshoot.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from history.errors import QuotaExceeded
from history.ledger import HOUR, HourFull, RunLedger
from history.slots import OwnerSlots, RunSlots, SlotsFull
from history.store import HistoryStore


@dataclass(frozen=True)
class Visitor:
    """Who asks for a run. `signed_in` comes from the host's sign-in; `own_key` when the run cannot
    use the operator's keys (the visitor's Settings keys cover every provider the server has a key for)."""

    owner_id: str
    signed_in: bool = False
    own_key: bool = False


@dataclass(frozen=True)
class QuotaLimits:
    concurrent_runs: int
    runs_per_hour: int
    tokens_per_day: int
    cost_per_day_usd: float


ANONYMOUS = QuotaLimits(concurrent_runs=2, runs_per_hour=10, tokens_per_day=200_000, cost_per_day_usd=0.50)
SIGNED_IN = QuotaLimits(concurrent_runs=4, runs_per_hour=60, tokens_per_day=2_000_000, cost_per_day_usd=5.00)
_FIELDS = MappingProxyType({"concurrent_runs": int, "runs_per_hour": int, "tokens_per_day": int,
                           "cost_per_day_usd": float})


def env_name(tier: str, name: str) -> str:
    return f"GRAPHWRIGHT_QUOTA_{'USER' if tier == 'signed_in' else 'ANON'}_{name.upper()}"


def limits_from_env(environ: Mapping[str, str] | None = None) -> dict[str, QuotaLimits]:
    """Both tiers' limits: the defaults above, overridden by the environment (bad values name the variable)."""
    environ = os.environ if environ is None else environ
    tiers: dict[str, QuotaLimits] = {}
    for tier, default in (("anonymous", ANONYMOUS), ("signed_in", SIGNED_IN)):
        values: dict[str, float] = {}
        for name, kind in _FIELDS.items():
            var = env_name(tier, name)
            raw = environ.get(var, "").strip()
            if not raw:
                values[name] = getattr(default, name)
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a {'whole ' if kind is int else ''}number") from None
            if value < 0 or not math.isfinite(value):
                raise ValueError(f"{var}={raw!r} must be 0 or more")
            values[name] = value
        tiers[tier] = QuotaLimits(**values)  # type: ignore[arg-type]
    return tiers


@dataclass(frozen=True)
class QuotaLine:
    """One quota as Settings shows it."""

    name: str
    used: float
    limit: float
    resets: str  # "" when it does not reset on a clock (concurrent runs)
    billed: bool = True  # False: does not apply to runs on the visitor's own key

    def text(self) -> str:
        fmt = (lambda v: f"${v:.2f}") if "cost" in self.name else (lambda v: f"{v:,.0f}")
        left = max(self.limit - self.used, 0)
        tail = f", resets {self.resets}" if self.resets else ""
        return f"{self.name}: {fmt(self.used)} of {fmt(self.limit)} used, {fmt(left)} left{tail}"


class Quotas:
    """The one place runs are admitted; the limits come from the environment unless given."""

    def __init__(self, store: HistoryStore | None, limits: Mapping[str, QuotaLimits] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.limits = dict(limits) if limits is not None else limits_from_env()
        self._clock = clock
        self._running: RunSlots = store.run_slots() if store is not None else OwnerSlots()
        self._ledger: RunLedger | None = store.run_ledger() if store is not None else None

    def limits_for(self, visitor: Visitor) -> QuotaLimits:
        return self.limits["signed_in" if visitor.signed_in else "anonymous"]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC).replace(tzinfo=None)

    def report(self, visitor: Visitor) -> list[QuotaLine]:
        limits, now = self.limits_for(visitor), self._now()
        day_end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        runs, oldest, tokens, cost = self._usage(visitor.owner_id, now)
        hour_reset = f"at {(oldest + HOUR):%H:%M} UTC" if oldest is not None else "an hour after your next run"
        day_reset = f"at {day_end:%Y-%m-%d %H:%M} UTC"
        return [
            QuotaLine("concurrent runs", self._running.in_use(visitor.owner_id), limits.concurrent_runs, "", False),
            QuotaLine("runs per hour", runs, limits.runs_per_hour, hour_reset),
            QuotaLine("tokens per day", tokens, limits.tokens_per_day, day_reset),
            QuotaLine("cost per day", cost, limits.cost_per_day_usd, day_reset),
        ]

    def _usage(self, owner: str, now: datetime) -> tuple[int, datetime | None, int, float]:
        if self.store is None:
            return 0, None, 0, 0.0
        cur = self.store.read_cursor()
        runs, oldest = cur.execute(
            "SELECT count(*), min(admitted_at) FROM quota_ledger WHERE owner = ? AND billed AND admitted_at > ?",
            [owner, now - HOUR]).fetchone()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        tokens, cost = cur.execute(
            "SELECT coalesce(sum(tokens_in + tokens_out), 0), coalesce(sum(cost_usd), 0) FROM llm_calls "
            "WHERE ts >= ? AND run_id IN (SELECT run_id FROM quota_ledger WHERE owner = ? AND billed)",
            [day_start, owner]).fetchone()
        return int(runs), oldest, int(tokens), float(cost)

    def _refuse_if_over(self, visitor: Visitor) -> None:
        for line in self.report(visitor)[1:]:
            if line.used >= line.limit:
                raise QuotaExceeded(line.name, f"This run was not started: your {line.name} quota is used up "
                                    f"({line.text()}). Use your own provider key in Settings to run "
                                    "beyond it, or come back then.")

    @contextmanager
    def admit(self, visitor: Visitor, run_id: str | None = None) -> Iterator[None]:
        """Hold one of the visitor's run slots for the block; a new run (`run_id`) is also checked
        against the billed quotas and recorded in the ledger first. Raises `QuotaExceeded`."""
        limits = self.limits_for(visitor)
        try:
            self._running.take(visitor.owner_id, limits.concurrent_runs)
        except SlotsFull:
            raise QuotaExceeded("concurrent runs", (
                f"This run was not started: you already have {limits.concurrent_runs} run(s) going, "
                f"the most at once (concurrent runs: 0 left). Wait for one to finish or stop it."
            )) from None
        try:
            if run_id is not None:
                self._record(visitor, run_id, limits)
        except BaseException:
            self._running.release(visitor.owner_id)
            raise
        try:
            yield
        finally:
            self._running.release(visitor.owner_id)

    def _record(self, visitor: Visitor, run_id: str, limits: QuotaLimits) -> None:
        """Refuse a billed run over a quota as counted so far; then record it in the ledger, where the hourly
        quota is checked again in the same step (another replica may have admitted a run since)."""
        billed = not visitor.own_key
        if billed:
            self._refuse_if_over(visitor)
        if self._ledger is None:
            return
        try:
            self._ledger.admit(visitor.owner_id, run_id, self._now(), billed=billed, per_hour=limits.runs_per_hour)
        except HourFull:
            self._refuse_if_over(visitor)
            raise QuotaExceeded("runs per hour", "This run was not started: your runs per hour quota is used up. "
                                "Use your own provider key in Settings to run beyond it, or come back later.") from None
