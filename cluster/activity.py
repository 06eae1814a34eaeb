"""The activity a `graphwright worker` executes: one segment of one run, driven by the usual `Engine`.

The segment runs exactly the local code path (`Engine.segment` -> `RunDriver`): the engine reads
the run's record and checkpoint from the shared stores, and its sinks are the event bus (live
events to the app replicas) and, when given, the run history. A retried attempt (its worker died)
resumes from the checkpoint: the ledger (`RunStarted.accounted`) flags the lost work superseded, so
every step and model call is counted once, and the tool journal replays a finished tool call or
reports one cut by the death as "outcome unknown".

Heartbeats go out from a task of their own (a long model call must not look like a dead worker),
every quarter of the heartbeat timeout and not at the start: a segment shorter than that sends
none, and Temporal still notices a dead worker within the timeout. The Stop button reaches the
segment through PostgreSQL at once (`cluster.stops`); Temporal's cancellation, delivered with the
next heartbeat, is the durable path behind it. Either way it is a `CancelledError` that reaches the
running node and the sandbox container, as it does locally. When the worker is asked to shut down,
the segment gets `GRACE_S` to finish; then it is handed back: cancelled without recording a stop,
and retried on another worker from its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from cluster.sealed import SECRET_ENV, ClusterSecretError, Sealer
from cluster.stops import StopListener
from cluster.workflow import ACTIVITY_NAME, SegmentRequest
from orchestrator.drive import HAND_BACK, HandBack
from orchestrator.events import TERMINAL_TYPES
from orchestrator.fencing import FENCE, Fence

log = logging.getLogger(__name__)

SHUTTING_DOWN = "this worker is shutting down; the run continues on another worker from its last checkpoint"
LEASE_LOST = ("this worker lost its lease on the run (Temporal did not hear from it in time); the run "
              "continues on another worker from its last checkpoint")
HEARTBEATS_PER_TIMEOUT = 4  # a heartbeat every 2.5 s with the default 10 s timeout (each is a write in Temporal's store)
GRACE_S = 10.0
FENCED = "a newer attempt drives this run now: this one stops without writing anything more"
# Whether the history records the events of the segment being driven (False: `graphwright run --no-history`);
# the worker's history sink reads it (`cluster.worker`), the event bus ignores it (live events still flow).
RECORD_HISTORY: ContextVar[bool] = ContextVar("graphwright_record_history", default=True)
ENDED = {"run_finished": "finished", "run_failed": "failed", "run_cancelled": "cancelled",
         "run_interrupted": "interrupted"}


class Segments:
    """The worker's activity: `engine_for(default_model)` gives the engine; `flush()` settles the event bus."""

    def __init__(self, engine_for: Callable[[str], Any], flush: Callable[[], Any], grace_s: float = GRACE_S,
                 sealer: Sealer | None = None, stops: StopListener | None = None) -> None:
        self.engine_for, self.flush, self.grace_s, self.sealer = engine_for, flush, grace_s, sealer
        self.stops = stops

    @activity.defn(name=ACTIVITY_NAME)
    async def drive_segment(self, request: SegmentRequest) -> str:
        from orchestrator.runner import ApprovalDecision

        info = activity.info()
        engine = self.engine_for(request.default_model)
        stored = engine.store.get(request.run_id)
        if stored is None:
            raise ApplicationError(f"no run record for `{request.run_id}`", non_retryable=True)
        if stored.status in ("finished", "rejected"):  # an earlier attempt ended it before reporting
            return stored.status
        if request.sealed:
            engine = self._with_visitor_keys(engine, request)
        decision = request.decision
        approval = ApprovalDecision(decision.approved, decision.feedback) if decision is not None else None
        resume = request.resume or info.attempt > 1
        hand_back = HandBack()
        token = HAND_BACK.set(hand_back)
        origin = None
        if request.origin_json and not resume:
            from orchestrator.events import RunOrigin

            origin = RunOrigin.model_validate_json(request.origin_json)
        # The fencing token: from now on an older attempt still driving this run is refused its writes.
        fence = Fence(request.run_id, await asyncio.to_thread(engine.store.take_fence, request.run_id))
        loop = asyncio.get_running_loop()

        def fenced_out() -> None:  # a write refused (from any thread): stop this stale copy quietly
            hand_back.requested, hand_back.message = True, FENCED
            loop.call_soon_threadsafe(segment.cancel)

        fence.on_lost = fenced_out
        fencing = FENCE.set(fence)
        recording = RECORD_HISTORY.set(request.record_history)
        log.info("segment of run %s started (attempt %d, token %d)", request.run_id, info.attempt, fence.attempt)
        stop = Stop()
        segment = stop.segment = asyncio.create_task(self._drive(engine, stored, resume, approval, origin, stop))
        HAND_BACK.reset(token)
        FENCE.reset(fencing)
        RECORD_HISTORY.reset(recording)
        unregister = self.stops.register(request.run_id, info.workflow_run_id, stop) if self.stops else None
        beats = asyncio.create_task(_heartbeat(_beat_every(info.heartbeat_timeout)))
        shutdown = asyncio.create_task(activity.wait_for_worker_shutdown())
        try:
            await asyncio.wait({segment, shutdown}, return_when=asyncio.FIRST_COMPLETED)
            if not segment.done():  # the worker is shutting down: finish within the grace, else hand back
                done, _ = await asyncio.wait({segment}, timeout=self.grace_s)
                if not done:
                    hand_back.requested, hand_back.message = True, SHUTTING_DOWN
                    segment.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await segment
                    await asyncio.to_thread(self.flush)
                    raise ApplicationError("the worker shut down; the run continues on another worker",
                                           type="HandedBack")
            if fence.lost:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await segment
                raise ApplicationError(FENCED, type="Fenced")
            # Stopped: the driver recorded the cancellation; the workflow, cancelled too, ends with it
            status = "cancelled" if segment.cancelled() and stop.requested else segment.result()
            log.info("segment of run %s ended: %s", request.run_id, status)
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            if details is None or not details.cancel_requested:  # not Stop: e.g. the lease timed out
                hand_back.requested, hand_back.message = True, LEASE_LOST
                segment.cancel()
            else:
                stop()  # Stop (the workflow was cancelled): the driver records the cancellation
            with contextlib.suppress(asyncio.CancelledError):
                await segment
            raise
        finally:
            if unregister is not None:
                unregister()
            beats.cancel()
            shutdown.cancel()
            await asyncio.to_thread(self.flush)
        return status

    def _with_visitor_keys(self, engine: Any, request: SegmentRequest) -> Any:
        """The engine with the visitor's keys opened for this segment; a worker that cannot open them
        fails the run once, saying which variable differs (a retry on this worker would fail alike)."""
        try:
            if self.sealer is None:
                raise ClusterSecretError(f"this worker has no {SECRET_ENV}, so it cannot open the visitor's keys "
                                         f"sent with the run: set the app's value of {SECRET_ENV} on it")
            secrets = self.sealer.open(request.sealed or "", request.run_id)
        except ClusterSecretError as exc:
            log.error("run %s: %s", request.run_id, exc)
            engine.store.set_status(request.run_id, "failed")
            raise ApplicationError(str(exc), type="ClusterSecret", non_retryable=True) from None
        return engine.with_credentials(engine.credentials.with_session(secrets.keys, secrets.named))

    async def _drive(self, engine: Any, stored: Any, resume: bool, approval: Any, origin: Any, stop: Stop) -> str:
        ending = "failed"
        async for event in engine.segment(stored, resume=resume, approval=approval, origin=origin):
            if not stop.driving:
                stop.began()
            if event.type in TERMINAL_TYPES:
                ending = ENDED[event.type]
                if getattr(event, "reason", "") == "rejected":
                    ending = "rejected"
        return ending


class Stop:
    """The Stop of one segment (from `cluster.stops` or Temporal's cancellation): it cancels the segment
    once its driver has begun, which then records the cancellation; a Stop that comes earlier (a task
    cancelled before its first step never runs its handler) takes effect at the segment's first event."""

    def __init__(self) -> None:
        self.requested = self.driving = False
        self.segment: asyncio.Task[str] | None = None

    def __call__(self) -> None:
        self.requested = True
        if self.driving and self.segment is not None:
            self.segment.cancel()

    def began(self) -> None:
        """Called by the segment's task with its first event: the driver's cancellation handler is in place."""
        self.driving = True
        if self.requested:
            asyncio.current_task().cancel()  # type: ignore[union-attr]


def _beat_every(timeout: timedelta | None) -> float:
    return (timeout.total_seconds() if timeout else 10.0) / HEARTBEATS_PER_TIMEOUT


async def _heartbeat(every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        activity.heartbeat()
