"""Run slots and the quota ledger shared by every app replica (cluster mode): a visitor's concurrent-run
cap and runs-per-hour quota hold cluster-wide.

Locally the slots are counters in memory (`history.slots.OwnerSlots`): what runs ends with the
process. With several replicas behind a load balancer that would let a visitor hold the cap on
each of them, so here a slot is a row of `graphwright_run_slots`, taken under a per-owner advisory
lock (count, then insert, in one transaction: two replicas cannot both take the last slot).

Each row is a lease: the replica holding it renews it every `lease_s / 3`, and a slot is released
by deleting its row when the run finishes, fails or is stopped. A replica that crashes renews
nothing, so its slots expire after `lease_s` and are reclaimed by the next `take`: a dead replica
never holds a visitor's slot for longer than that.

The ledger (`PgRunLedger`, `history.ledger`) admits a run the same way: under a per-visitor advisory
lock, count the visitor's runs of the last hour, then insert, in one transaction. The count is a
statement after the lock (read committed: its snapshot sees every admission committed before).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime
from typing import Any

import psycopg

from history.ledger import COUNT_SQL, HOUR, INSERT_SQL, HourFull
from history.slots import SlotsFull
from orchestrator.pg_state import connect_pool, ensure_schema

log = logging.getLogger(__name__)
LEASE_S = 30.0
_LOCK_ID = 7_300_101
_LEDGER_LOCK_ID = 7_300_102
_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_run_slots (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS graphwright_run_slots_owner ON graphwright_run_slots (owner)
"""
_LIVE = "owner = %s AND expires > clock_timestamp()"


class PgRunSlots:
    """`OwnerSlots`' interface (`take`, `release`, `in_use`) on leases in PostgreSQL."""

    def __init__(self, dsn: str, lease_s: float = LEASE_S) -> None:
        ensure_schema(dsn, _SCHEMA, _LOCK_ID)
        self.lease_s = lease_s
        self._pool = connect_pool(dsn, max_size=4)
        self._held: dict[str, list[str]] = {}  # owner -> tokens this process holds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name="run-slot-leases", daemon=True)
        self._renewer.start()

    def take(self, owner: str, cap: int) -> None:
        token = uuid.uuid4().hex
        with self._pool.connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_ID, owner])
            con.execute("DELETE FROM graphwright_run_slots WHERE owner = %s AND expires <= clock_timestamp()",
                        [owner])  # the leases of replicas that died
            held = con.execute("SELECT count(*) FROM graphwright_run_slots WHERE owner = %s", [owner]).fetchone()
            if held is not None and held[0] >= cap:
                raise SlotsFull(owner, cap)
            con.execute("INSERT INTO graphwright_run_slots (token, owner, expires) "
                        "VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s))", [token, owner, self.lease_s])
        with self._lock:
            self._held.setdefault(owner, []).append(token)

    def release(self, owner: str) -> None:
        with self._lock:
            tokens = self._held.get(owner) or []
            token = tokens.pop() if tokens else None
            if not tokens:
                self._held.pop(owner, None)
        if token is None:
            return
        try:
            with self._pool.connection() as con:
                con.execute("DELETE FROM graphwright_run_slots WHERE token = %s", [token])
        except psycopg.Error as exc:  # unreachable: the lease, no longer renewed, expires by itself
            log.warning("could not release a run slot (it expires within %g s): %s", self.lease_s, exc)

    def in_use(self, owner: str) -> int:
        with self._pool.connection() as con:
            row = con.execute(f"SELECT count(*) FROM graphwright_run_slots WHERE {_LIVE}", [owner]).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._stop.set()
        self._renewer.join(5)
        self._pool.close()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                held = [(token, owner) for owner, tokens in self._held.items() for token in tokens]
            if not held:
                continue
            try:
                self._renew(held)
            except psycopg.Error as exc:  # e.g. PostgreSQL restarting: the next round reconnects
                log.warning("could not renew %d run slot lease(s): %s", len(held), exc)

    def _renew(self, held: list[tuple[str, str]]) -> None:
        """Extend this replica's leases; a lease lost meanwhile (a long outage) is taken again."""
        with self._pool.connection() as con, con.cursor() as cur:
            cur.executemany("INSERT INTO graphwright_run_slots (token, owner, expires) VALUES "
                            "(%s, %s, clock_timestamp() + make_interval(secs => %s)) ON CONFLICT (token) DO UPDATE "
                            "SET expires = EXCLUDED.expires", [(token, owner, self.lease_s) for token, owner in held])


class PgRunLedger:
    """`history.ledger.RunLedger` on the `quota_ledger` table, one step for every replica at once."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def admit(self, owner: str, run_id: str, at: datetime, *, billed: bool, per_hour: int | None) -> None:
        with self._pool.connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LEDGER_LOCK_ID, owner])
            if billed and per_hour is not None:
                runs = con.execute(COUNT_SQL.replace("?", "%s"), [owner, at - HOUR]).fetchone()
                if runs is not None and runs[0] >= per_hour:
                    raise HourFull(owner, per_hour)
            con.execute(INSERT_SQL.replace("?", "%s"), [owner, run_id, at, billed])
