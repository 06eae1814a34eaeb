"""A `graphwright worker` process: polls the task queue and drives the runs Temporal hands it.

Each worker has its own engines (one per default model a visitor picked, few), its own sandbox
caps (`orchestrator.workers`), the event bus publisher and, in cluster mode, the Postgres history
sink. SIGTERM (or SIGINT) starts a graceful shutdown: polling stops at once, running segments get
`activity.GRACE_S` to finish and are then handed back to the queue, so another worker resumes them
from their checkpoints; the process exits when its segments are settled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cluster.activity import RECORD_HISTORY
from cluster.temporal_client import TemporalSettings, connect

log = logging.getLogger("graphwright.worker")


@dataclass(frozen=True)
class WorkerOptions:
    data_dir: Path | None = None
    max_concurrent_runs: int = 8
    grace_s: float = 10.0
    identity: str = ""


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Engines:
    """The engines of this worker, one per default model (an LRU: the compiled graphs live in them)."""

    def __init__(self, data_dir: Path | None, sinks: list[Any]) -> None:
        from orchestrator.workers import Workers

        self.data_dir, self.sinks = data_dir, sinks
        self.workers = Workers()
        self._engines: OrderedDict[str, Any] = OrderedDict()

    def __call__(self, default_model: str) -> Any:
        engine = self._engines.pop(default_model, None) or self._new(default_model)
        self._engines[default_model] = engine
        while len(self._engines) > 8:
            self._engines.popitem(last=False)
        return engine

    def _new(self, default_model: str) -> Any:
        from orchestrator.credentials import Credentials
        from orchestrator.policy import Policy
        from orchestrator.runner import Engine

        policy = Policy(sandbox_image=os.environ.get("GRAPHWRIGHT_SANDBOX_IMAGE") or None,
                        default_model=default_model or None, key_source="environment")
        return Engine(data_dir=self.data_dir, credentials=Credentials.from_env(), policy=policy,
                      sinks=self.sinks, workers=self.workers)


async def serve(settings: TemporalSettings, dsn: str, options: WorkerOptions) -> None:
    """Run a worker until SIGTERM/SIGINT, then shut it down gracefully."""
    from temporalio.worker import Worker

    from cluster.activity import Segments
    from cluster.event_bus import EventPublisher
    from cluster.sealed import ClusterSecretError, Sealer
    from cluster.stops import StopListener
    from cluster.temporal_client import ClusterConfigError
    from cluster.workflow import RunWorkflow

    try:
        sealer = Sealer.from_env()  # None: runs use this worker's own keys; a visitor's keys cannot open
    except ClusterSecretError as exc:
        raise ClusterConfigError(str(exc)) from None

    publisher = EventPublisher(dsn)
    sinks: list[Any] = [publisher.publish]
    history = _open_history(options.data_dir)
    sinks.append(_accounted_first(history))

    def flush() -> None:
        publisher.flush()
        history.flush()

    await asyncio.to_thread(_warm_up)  # imports block the loop: not while a segment must heartbeat
    engines = _Engines(options.data_dir, sinks)
    await asyncio.to_thread(engines, "")  # the usual engine (its pools, schema checks) before the first run
    stops = StopListener(dsn)  # the Stop button's fast path (`cluster.stops`)
    stops.start()
    segments = Segments(engines, flush, grace_s=options.grace_s, sealer=sealer, stops=stops)
    client = await connect(settings)
    worker = Worker(client, task_queue=settings.task_queue, workflows=[RunWorkflow],
                    activities=[segments.drive_segment], identity=options.identity or identity(),
                    max_concurrent_activities=options.max_concurrent_runs,
                    graceful_shutdown_timeout=timedelta(seconds=options.grace_s + 5),
                    max_heartbeat_throttle_interval=timedelta(milliseconds=200),
                    default_heartbeat_throttle_interval=timedelta(milliseconds=200))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info("worker %s polling task queue %r on %s", worker.config().get("identity"), settings.task_queue,
             settings.address)
    running = asyncio.create_task(worker.run())
    await asyncio.wait({running, asyncio.create_task(stopping.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if not running.done():
        log.info("shutting down: no new work; running segments finish or are handed back")
        await worker.shutdown()
    await running
    await stops.close()
    publisher.close()
    history.close()
    log.info("worker stopped")


ACCOUNTED = frozenset({"llm_call", "step_finished"})


def _accounted_first(history: Any) -> Any:
    """The history sink, waiting for the commit of each model call and finished step (none for a segment
    that is not recorded).

    Those are the rows a checkpoint's ledger (`accounted`) vouches for, and the checkpoint is written
    after the event: a worker killed between the two must not leave a checkpoint that counts a call
    whose row never reached Postgres (seen once in the kill test: a run charged 45 tokens, its rows 32).
    """
    from history.errors import HistoryWriteError, QueueFull

    def sink(event: Any) -> None:
        if not RECORD_HISTORY.get():  # a segment asked not to be recorded (`graphwright run --no-history`)
            return
        try:
            history.record(event, wait=event.type in ACCOUNTED or None, timeout=10.0)
        except (QueueFull, HistoryWriteError) as exc:
            log.warning("history did not record '%s' of run '%s': %s", event.type, event.run_id, exc)

    return sink


def _warm_up() -> None:
    for name in ("orchestrator.llm", "orchestrator.runner", "orchestrator.compiler", "litellm"):
        try:
            __import__(name)
        except Exception as exc:  # a missing optional part must not stop the worker
            log.warning("warm-up could not import %s: %s", name, exc)


def _open_history(data_dir: Path | None) -> Any:
    """The cluster's shared history (Postgres tables, idempotent per event), written by every worker."""
    from history.backend import open_history
    from orchestrator.deployment import Deployment

    return open_history(data_dir, Deployment.from_env(), mlflow=False)
