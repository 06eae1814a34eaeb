"""Where state lives, chosen once from the environment: embedded files (the default) or a cluster.

    deployment = Deployment.from_env()              # GRAPHWRIGHT_POSTGRES_DSN, GRAPHWRIGHT_TEMPORAL_*
    state = open_run_state(data_dir, deployment)    # run records, tool journal, checkpointer

Local mode (no DSN) is today's SQLite files in the data dir, and imports nothing of cluster mode.
With `GRAPHWRIGHT_POSTGRES_DSN` set, run records, the tool journal and LangGraph's checkpoints live
in PostgreSQL (`orchestrator.pg_state`, imported only then), so any worker can resume any run.
`open_run_state` here and `history.backend.open_history` are the only places that pick an
implementation; everything else talks to the Protocols in `orchestrator.state_store`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.state_store import RunState

DSN_VAR = "GRAPHWRIGHT_POSTGRES_DSN"
TEMPORAL_VAR = "GRAPHWRIGHT_TEMPORAL_ADDRESS"
NAMESPACE_VAR = "GRAPHWRIGHT_TEMPORAL_NAMESPACE"
QUEUE_VAR = "GRAPHWRIGHT_TEMPORAL_TASK_QUEUE"


class DeploymentError(ValueError):
    """The cluster settings in the environment are inconsistent or malformed (names the variable)."""


@dataclass(frozen=True)
class Deployment:
    postgres_dsn: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "graphwright-runs"

    @property
    def cluster(self) -> bool:
        """State in PostgreSQL (runs may execute anywhere); False: the embedded files of one process."""
        return self.postgres_dsn is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Deployment:
        env = os.environ if environ is None else environ
        dsn = env.get(DSN_VAR, "").strip() or None
        temporal = env.get(TEMPORAL_VAR, "").strip() or None
        if dsn is not None and not (dsn.startswith(("postgresql://", "postgres://")) or "=" in dsn):
            raise DeploymentError(
                f"{DSN_VAR} is not a PostgreSQL connection string: use `postgresql://user@host:5432/dbname` "
                "or `host=... dbname=...` (the password belongs in ~/.pgpass or PGPASSWORD, not here)")
        if temporal is not None and dsn is None:
            raise DeploymentError(
                f"{TEMPORAL_VAR} is set but {DSN_VAR} is not: workers on other machines need the run state in "
                f"PostgreSQL; set {DSN_VAR} too, or unset {TEMPORAL_VAR} to run everything in this process")
        return cls(
            postgres_dsn=dsn,
            temporal_address=temporal,
            temporal_namespace=env.get(NAMESPACE_VAR, "").strip() or "default",
            task_queue=env.get(QUEUE_VAR, "").strip() or "graphwright-runs",
        )

    def __repr__(self) -> str:  # a DSN may carry a password: never print it
        dsn = "set" if self.postgres_dsn else None
        return (f"Deployment(postgres_dsn={dsn}, temporal_address={self.temporal_address!r}, "
                f"temporal_namespace={self.temporal_namespace!r}, task_queue={self.task_queue!r})")


def open_run_state(data_dir: Path, deployment: Deployment) -> RunState:
    """Run records, tool journal and checkpointer for this deployment (the one place that picks them)."""
    if deployment.postgres_dsn is not None:
        from orchestrator.pg_state import open_pg_run_state

        return open_pg_run_state(deployment.postgres_dsn)
    from orchestrator.state_store import open_local_run_state

    return open_local_run_state(data_dir)
