"""Cluster mode's `RunExecutor`: the app replica's side of a run that executes on a worker.

`run` saves the run's record (in the shared store, as the local engine does), starts the run's
Temporal workflow and yields its events from the event bus; `resume` sends a person's decision to
the waiting workflow as an update (or starts a new workflow from the checkpoint when none is
running). The events are the engine's own, recorded by the worker, so the Run tab folds them
exactly as in local mode. `stop` announces the Stop to the worker driving the run (through
PostgreSQL) and cancels the workflow (`cluster.stops`): either cancels the segment on its worker,
which records the `RunCancelled`, as the local driver does. Closing or cancelling the
iterator stops the run too (the CLI's Ctrl-C), unless the executor was made with
`stop_on_close=False`: the app's, where a closed iterator only means the visitor left this replica
(a closed tab, a lost connection, the replica shutting down) and the run goes on, for `follow` to
show from any replica (`follow_running` finds it on page load); the app's Stop button calls `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

from cluster.event_feed import last_seq, subscribe
from cluster.sealed import ClusterSecretError, Sealer, SessionSecrets, refusal
from cluster.stops import stop_workflow
from cluster.temporal_client import ClusterConfigError, TemporalSettings, connect
from cluster.workflow import Decision, RunRequest, RunWorkflow
from orchestrator import events as ev
from orchestrator.errors import RunNotResumable

SETTLE_S = 2.0  # after the workflow closed, how long its last events may take to arrive
QUERY_TIMEOUT_S = 5.0


def ends_what_we_follow(event: ev.Event) -> bool:
    """A terminal event; an interruption only when it is a pause for a person (a worker's death is not one)."""
    if event.type == "run_interrupted":
        return event.reason == "approval"
    return event.type in ev.TERMINAL_TYPES


class ClusterRuntime:
    """Process-wide: the Temporal settings, the Postgres DSN and one client per event loop."""

    def __init__(self, settings: TemporalSettings, dsn: str, sealer: Sealer | None = None) -> None:
        self.settings, self.dsn, self.sealer = settings, dsn, sealer
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @classmethod
    def from_env(cls) -> ClusterRuntime:
        from cluster.temporal_client import postgres_dsn

        try:
            sealer = Sealer.from_env()
        except ClusterSecretError as exc:  # a malformed secret stops the app at start, named
            raise ClusterConfigError(str(exc)) from None
        return cls(TemporalSettings.from_env(), postgres_dsn(), sealer)

    def executor(self, engine: Any, secrets: SessionSecrets | None = None, *, stop_on_close: bool = True,
                 record_history: bool = True) -> ClusterExecutor:
        """`secrets`: the visitor's own keys, sent sealed with each segment; refused (raises
        `SessionKeysRefused`, naming the variable) when no shared secret is set to seal them with.
        `record_history=False`: the workers keep the segments this executor starts out of the history."""
        return ClusterExecutor(engine, self, secrets, stop_on_close=stop_on_close, record_history=record_history)

    async def live_workers(self) -> list[Any]:
        from cluster.health import live_workers

        return await live_workers(self.settings, await self.client())

    async def client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = await connect(self.settings, attempts=3)
            self._clients[loop] = client
        return client


class ClusterExecutor:
    """Runs on workers, events through Postgres; `engine` gives the run records and the input checks."""

    def __init__(self, engine: Any, runtime: ClusterRuntime, secrets: SessionSecrets | None = None, *,
                 stop_on_close: bool = True, record_history: bool = True) -> None:
        if secrets and runtime.sealer is None:
            raise refusal()
        self.engine, self.runtime, self._secrets, self.stop_on_close = engine, runtime, secrets, stop_on_close
        self.record_history = record_history

    async def run(self, workflow: Any, inputs: dict[str, Any], *, owner: str = "", run_id: str | None = None,
                  model_override: str | None = None, origin: ev.RunOrigin | None = None,
                  replay: Any = None) -> AsyncIterator[ev.Event]:
        stored = self.engine.create_run(workflow, inputs, owner=owner, run_id=run_id, model_override=model_override,
                                        replay=replay)  # the plan is saved with the record: workers read it
        request = self._request(stored, resume=False, decision=None)
        request.origin_json = _without_keys(origin, self.engine).model_dump_json() if origin is not None else None
        async with subscribe(self.runtime.dsn, stored.run_id) as events:
            client = await self.runtime.client()
            try:
                handle = await client.start_workflow(RunWorkflow.run, request, id=stored.run_id,
                                                     task_queue=self.runtime.settings.task_queue)
            except asyncio.CancelledError:  # stopped while starting: a run nobody saw start must not go on
                await _shielded(stop_workflow(self.runtime.dsn, client.get_workflow_handle(stored.run_id)))
                raise
            async for event in _follow(events, handle, self._stop_dsn):
                yield event

    async def resume(self, run_id: str, *, approval: Any = None, owner: str = "") -> AsyncIterator[ev.Event]:
        stored = self.engine.check_resumable(run_id, approval=approval, owner=owner)
        client = await self.runtime.client()
        handle = client.get_workflow_handle(run_id)
        running, waiting = await _state(handle)
        # The segment's last event can arrive before its workflow has seen the segment end: the record says
        # it paused, and the workflow takes the decision as soon as it does.
        waiting = waiting or (running and stored.status == "interrupted")
        if running and not waiting and approval is not None:
            raise RunNotResumable(f"run `{run_id}` is still running: it is not waiting for a decision")
        if waiting and approval is None:  # as locally: report the pending approval again
            pending = self.engine.pending_approval(run_id)
            if pending is not None:
                yield pending
                yield ev.RunInterrupted(run_id=run_id, reason="approval")
                return
        after = await last_seq(self.runtime.dsn, run_id)
        decision = (Decision(approval.approved, approval.feedback, sealed=self._seal(run_id),
                             record_history=self.record_history) if approval is not None else None)
        async with subscribe(self.runtime.dsn, run_id, after) as events:
            if waiting:
                await handle.execute_update(RunWorkflow.decide, decision)
            elif not running:  # paused in a workflow that has ended, stopped, failed or crashed: a new one
                request = self._request(stored, resume=True, decision=decision)
                handle = await client.start_workflow(RunWorkflow.run, request, id=run_id,
                                                     task_queue=self.runtime.settings.task_queue)
            async for event in _follow(events, handle, self._stop_dsn):  # (running: follow it)
                yield event

    async def follow(self, run_id: str, *, owner: str = "") -> AsyncIterator[ev.Event]:
        """A run's events as recorded so far, then live until it ends or pauses: the trace of a run that
        goes on while its visitor reconnected to another replica (or reloaded the page). Never stops it."""
        stored = self.engine.store.get(run_id)
        if stored is None or (owner and stored.owner != owner):
            raise RunNotResumable(f"run `{run_id}` is not one of yours")
        handle = (await self.runtime.client()).get_workflow_handle(run_id)
        running, _waiting = await _state(handle)
        async with subscribe(self.runtime.dsn, run_id) as events:
            recorded = await last_seq(self.runtime.dsn, run_id)
            if running:
                async for event in _follow(events, handle, None, after=recorded):
                    yield event
                return
            async for event in events if recorded else _nothing():  # it has ended: the record alone
                yield event
                if event.seq >= recorded:
                    return

    async def follow_running(self, owner: str) -> AsyncIterator[ev.Event]:
        """The owner's newest run marked running in the shared records, followed (`follow`): what a page
        shows on load, whichever replica started the run. Nothing when the owner has none."""
        running = await asyncio.to_thread(self.engine.store.running, owner)
        if running:
            async for event in self.follow(running[0], owner=owner):
                yield event

    async def stop(self, run_id: str, *, owner: str = "") -> None:
        """The Stop button: cancel the run's workflow (its worker records the `RunCancelled`)."""
        from temporalio.service import RPCError

        stored = self.engine.store.get(run_id)
        if stored is None or (owner and stored.owner != owner):
            return
        with contextlib.suppress(RPCError):  # no such workflow, or it has already ended
            await stop_workflow(self.runtime.dsn, (await self.runtime.client()).get_workflow_handle(run_id))

    @property
    def _stop_dsn(self) -> str | None:
        """Where closing the event iterator announces a Stop (None: closing it does not stop the run)."""
        return self.runtime.dsn if self.stop_on_close else None

    def _request(self, stored: Any, *, resume: bool, decision: Decision | None) -> RunRequest:
        return RunRequest(stored.run_id, resume=resume, decision=decision,
                          default_model=self.engine.policy.default_model or "",
                          timeout_s=float(stored.workflow.limits.timeout_seconds),
                          heartbeat_timeout_s=self.runtime.settings.heartbeat_timeout_s,
                          sealed=self._seal(stored.run_id), record_history=self.record_history)

    def _seal(self, run_id: str) -> str | None:
        """The visitor's keys for this run's next segment, sealed (None: the workers' own keys)."""
        if not self._secrets or self.runtime.sealer is None:
            return None
        return self.runtime.sealer.seal(self._secrets, run_id)

    def pending_approval(self, run_id: str) -> ev.ApprovalRequested | None:
        return self.engine.pending_approval(run_id)


def _without_keys(origin: ev.RunOrigin, engine: Any) -> ev.RunOrigin:
    """The origin with every known key cleared from the text as written and the chat turn: it travels in
    Temporal's history (locally the same redaction happens before history records the version)."""
    from orchestrator.redaction import usable
    from orchestrator.secrets import redact

    known = usable(engine.credentials.known_secrets())
    original = redact(origin.original, known) if origin.original is not None else None
    return origin.model_copy(update={"original": original, "chat_request": redact(origin.chat_request, known)})


async def _state(handle: Any) -> tuple[bool, bool]:
    """(the run's workflow is running, it waits for a decision)."""
    from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError
    from temporalio.service import RPCError

    try:
        description = await handle.describe()
    except RPCError:  # no such workflow (e.g. a run started before cluster mode)
        return False, False
    if description.status != WorkflowExecutionStatus.RUNNING:
        return False, False
    try:  # a query needs a live worker: with none, the run record's status answers instead (the caller)
        async with asyncio.timeout(QUERY_TIMEOUT_S):
            return True, bool(await handle.query(RunWorkflow.waiting))
    except (TimeoutError, RPCError, WorkflowQueryFailedError):
        return True, False


async def _nothing() -> AsyncIterator[ev.Event]:
    return
    yield


async def _follow(events: Any, handle: Any, stop_dsn: str | None, after: int = 0) -> AsyncIterator[ev.Event]:
    """The events until the one that ends this segment (recorded after `after`: earlier segments' ends
    are part of the trace); the workflow's end also ends it (no hang). Closed early, it stops the run
    (`cluster.stops`, announced through `stop_dsn`), unless that is None."""
    outcome = asyncio.ensure_future(_outcome(handle))
    pending_event: asyncio.Future[Any] | None = None
    try:
        while True:
            pending_event = asyncio.ensure_future(anext(events))
            await asyncio.wait({pending_event, outcome}, return_when=asyncio.FIRST_COMPLETED)
            if not pending_event.done():  # the workflow closed: its last events may still be in flight
                done, _ = await asyncio.wait({pending_event}, timeout=SETTLE_S)
                if not done:
                    # The worker recorded the segment's events before reporting it done: read those the
                    # live stream passed over (a stale attempt's higher seqs hid them), up to the ending.
                    for event in await events.missed():
                        yield event
                        if event.seq >= after and ends_what_we_follow(event):
                            return
                    yield _closed_without_ending(handle.id, outcome)
                    return
            event = pending_event.result()
            pending_event = None
            yield event
            if event.seq >= after and ends_what_we_follow(event):
                return
    except (asyncio.CancelledError, GeneratorExit):
        if stop_dsn is not None:
            await _shielded(stop_workflow(stop_dsn, handle))
        raise
    finally:
        for task in (pending_event, outcome):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


async def _outcome(handle: Any) -> Any:
    """The workflow's result; a lost connection to Temporal (e.g. its restart) is waited out, not an ending."""
    from temporalio.service import RPCError

    while True:
        try:
            return await handle.result()
        except RPCError:
            await asyncio.sleep(1.0)


def _closed_without_ending(run_id: str, outcome: asyncio.Future[Any]) -> ev.Event:
    exc = outcome.exception() if not outcome.cancelled() else None
    while getattr(exc, "cause", None) is not None:  # workflow failure <- activity failure <- what the worker said
        exc = exc.cause  # type: ignore[union-attr]
    why = f": {exc}" if exc is not None else ""
    return ev.RunFailed(run_id=run_id, reason="internal",
                        message=f"the run's workflow ended without finishing the run{why}; resume it to retry")


async def _shielded(work: Any) -> None:
    """Finish `work` (the cancellation request) even though this task is being cancelled."""
    task = asyncio.ensure_future(work)
    with contextlib.suppress(BaseException):
        await asyncio.shield(task)
    if not task.done():
        with contextlib.suppress(BaseException):
            await task
