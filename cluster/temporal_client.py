"""Connecting to Temporal: where it is, which namespace and task queue (from the environment).

`GRAPHWRIGHT_TEMPORAL_ADDRESS` (host:port, required in cluster mode), `GRAPHWRIGHT_TEMPORAL_NAMESPACE`
(default `default`), `GRAPHWRIGHT_TEMPORAL_TASK_QUEUE` (default `graphwright-runs`) and
`GRAPHWRIGHT_HEARTBEAT_TIMEOUT_S` (default 10: a worker silent that long loses its run). A server that
does not answer gives an error naming the variable, not a gRPC stack trace.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.execution import TEMPORAL_ADDRESS_ENV

HEARTBEAT_ENV = "GRAPHWRIGHT_HEARTBEAT_TIMEOUT_S"


class ClusterConfigError(RuntimeError):
    """Cluster mode is asked for but not configured or not reachable; the message names the variable."""


@dataclass(frozen=True)
class TemporalSettings:
    address: str
    namespace: str = "default"
    task_queue: str = "graphwright-runs"
    heartbeat_timeout_s: float = 10.0  # how long a silent worker keeps a run before another takes it

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TemporalSettings:
        """From the deployment settings (`orchestrator.deployment`) plus the heartbeat timeout."""
        from orchestrator.deployment import Deployment, DeploymentError

        env = os.environ if environ is None else environ
        try:
            deployment = Deployment.from_env(env)
        except DeploymentError as exc:
            raise ClusterConfigError(str(exc)) from None
        if not deployment.temporal_address:
            raise ClusterConfigError(f"set {TEMPORAL_ADDRESS_ENV} to the Temporal server's host:port "
                                     "(e.g. 127.0.0.1:7233) to run workflows on workers")
        try:
            heartbeat = max(1.0, float(env.get(HEARTBEAT_ENV) or 10.0))
        except ValueError:
            raise ClusterConfigError(f"{HEARTBEAT_ENV} must be a number of seconds") from None
        return cls(deployment.temporal_address, deployment.temporal_namespace, deployment.task_queue, heartbeat)


def postgres_dsn(environ: Mapping[str, str] | None = None) -> str:
    """The DSN of the cluster's Postgres (run state, history, live events)."""
    from orchestrator.deployment import DSN_VAR, Deployment

    dsn = Deployment.from_env(os.environ if environ is None else environ).postgres_dsn
    if not dsn:
        raise ClusterConfigError(f"set {DSN_VAR} (e.g. postgresql://user@host:5432/graphwright): in cluster "
                                 f"mode ({TEMPORAL_ADDRESS_ENV} is set) workers and app replicas share their "
                                 "state and live events through PostgreSQL")
    return dsn


async def connect(settings: TemporalSettings, attempts: int = 30) -> Any:
    """A Temporal client, retrying for a while (the server may still be starting, e.g. under compose)."""
    from temporalio.client import Client

    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            return await Client.connect(settings.address, namespace=settings.namespace)
        except RuntimeError as exc:  # the core SDK's "Failed client connect"
            last = exc
            await asyncio.sleep(1.0)
    raise ClusterConfigError(f"cannot reach the Temporal server at {settings.address} "
                             f"({TEMPORAL_ADDRESS_ENV}): {last}")
