"""One segment of one run (a start or a resume): compile, stream the graph, and end it honestly.

The driver owns the segment's lifecycle: model resolution (with substitution warnings), the
checkpointer, the wall-clock limit, and the single terminal event every segment ends with. Node
events reach the sinks the moment they are emitted and the consumer through LangGraph's `custom`
stream mode (`get_stream_writer()`); run-level events are emitted here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from orchestrator import events as ev
from orchestrator.budget import Budget
from orchestrator.checkpoints import StoredRun
from orchestrator.compiler import recursion_limit, with_checkpointer
from orchestrator.models_table import build_model_table
from orchestrator.named_secrets import resolve_secrets
from orchestrator.nodes.common import RunContext, running
from orchestrator.redaction import KNOWN_SECRETS
from orchestrator.replay import ReplayPlan
from orchestrator.secrets import redact
from orchestrator.state import InputsError, initial_state, input_previews, prepare_inputs
from schemas.versions import ConfigVersion

if TYPE_CHECKING:
    from orchestrator.runner import ApprovalDecision, Engine

Stamp = Callable[..., Any]
log = logging.getLogger(__name__)


@dataclass
class HandBack:
    """Set on a segment by a cluster worker: a cancellation it `requested` (the worker is shutting down,
    or lost its lease on the run) hands the run back, to be resumed from its checkpoint on another
    worker, instead of stopping it; `message` says why, in the trace."""

    requested: bool = False
    message: str = ""


HAND_BACK: ContextVar[HandBack | None] = ContextVar("graphwright_hand_back", default=None)


class RunDriver:
    def __init__(self, engine: Engine, stored: StoredRun, stamp: Stamp, *, resume: bool,
                 approval: ApprovalDecision | None, origin: ev.RunOrigin | None = None,
                 replay: ReplayPlan | None = None) -> None:
        self.engine, self.stored, self.stamp = engine, stored, stamp
        self.resume, self.approval, self.origin = resume, approval, origin
        self.replay = replay
        self.run_id = stored.run_id
        self.workflow = stored.workflow
        self.ctx: RunContext | None = None
        self.started = time.monotonic()

    def emit(self, event: Any) -> Any:
        return self.stamp(event, enqueue=True)

    @property
    def partial(self) -> dict[str, Any]:
        return dict(self.ctx.finished) if self.ctx else {}

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _end(self, status: str, pending: dict[str, Any] | None = None) -> None:
        try:
            self.engine.store.set_status(self.run_id, status, pending=pending, add_elapsed=self._elapsed())
            if status in ("finished", "rejected"):  # never resumed: no tool call will be replayed
                self.engine.journal.forget_run(self.run_id)
        except Exception as exc:  # e.g. a full disk, a lost database: the terminal event already went out
            if not isinstance(exc, sqlite3.Error | OSError) and not self.engine.state.unreachable(exc):
                raise
            log.error("run %s ended (%s) but %s could not save it: %s; its record may still say it is running "
                      "(resuming it settles that)", self.run_id, status, self.engine.state.where, _first_line(exc))

    def _unreachable(self, exc: Exception) -> None:
        """The run's state store could not be reached (e.g. PostgreSQL restarting): not the run's failure.

        On a worker the segment is handed back, and Temporal retries it from the last checkpoint once
        the store answers again; in-process the run is interrupted and can be resumed.
        """
        where, why = self.engine.state.where, _first_line(exc)
        if HAND_BACK.get() is not None:
            self.emit(ev.Warning(run_id=self.run_id, message=f"this worker lost its connection to {where} ({why}); "
                                 "the run continues from its last checkpoint once it is reachable again"))
            raise StateUnreachable(f"{where} could not be reached: {why}") from exc
        self.emit(ev.Warning(run_id=self.run_id, message=f"the run was paused because {where} could not be "
                             f"reached ({why}); resume it once it is back"))
        self.emit(ev.RunInterrupted(run_id=self.run_id, reason="state_unreachable", outputs=self.partial))
        self._end("interrupted")

    async def drive(self) -> None:
        from orchestrator.runner import failure_events

        wf, store = self.workflow, self.engine.store
        try:
            inputs: dict[str, Any] = self.stored.inputs
            inputs_error: InputsError | None = None
            if not self.resume:
                try:
                    inputs = prepare_inputs(wf, self.stored.inputs)
                except InputsError as exc:
                    inputs_error = exc
            fallback = await self.engine._embedded_default()
            default = (self.stored.model_override or wf.default_model or self.engine.policy.default_model
                       or fallback)
            if not self.resume:  # first, whatever happens next (a resume first reads its checkpoint)
                self._announce(inputs, default, None)
                if inputs_error is not None:
                    raise inputs_error
            secrets = resolve_secrets(wf, self.engine.credentials)  # a missing one fails before any step
            async with self.engine.state.open_saver() as saver:
                graph = with_checkpointer(self.engine.compiled(wf), saver)
                config = {"configurable": {"thread_id": self.run_id}, "recursion_limit": recursion_limit(wf)}
                snapshot = None
                if self.resume:
                    snapshot = await graph.aget_state(config)
                    self._announce(inputs, default, snapshot)
                models = build_model_table(wf, default, self.engine.credentials, fallback,
                                           lambda msg: self.emit(ev.Warning(run_id=self.run_id, message=msg)),
                                           override=self.stored.model_override)
                self.ctx = RunContext(run_id=self.run_id, workflow=wf, client=self.engine.client,
                                      budget=Budget(wf.limits), policy=self.engine.policy, models=models,
                                      stamp=lambda e: self.stamp(e, enqueue=False), secrets=secrets,
                                      data_dir=self.engine.data_dir, replay=self.replay)
                command = await self._starting_point(graph, config, snapshot, inputs)
                if command is _ALREADY_REPORTED:
                    return
                store.set_status(self.run_id, "running")
                with running(self.ctx):
                    interrupts = await self._stream_graph(graph, command, config)
                await self._finish(graph, config, interrupts)
        except asyncio.CancelledError:
            hand_back = HAND_BACK.get()
            if hand_back is not None and hand_back.requested:  # not a stop: the run goes on elsewhere
                self.emit(ev.Warning(run_id=self.run_id, message=hand_back.message))
                raise
            self.emit(ev.RunCancelled(run_id=self.run_id, reason="cancelled", outputs=self.partial))
            self._end("cancelled")
            raise
        except _Timeout:
            limit = wf.limits.timeout_seconds
            self.emit(ev.BudgetExceeded(run_id=self.run_id, limit="timeout_seconds", limit_value=limit,
                                        used=round(self._elapsed(), 3)))
            self.emit(ev.RunFailed(run_id=self.run_id, reason="timeout", outputs=self.partial,
                                   message=f"the run took longer than `limits.timeout_seconds` ({limit:g} s) and "
                                   "was stopped; raise the limit or resume it with `graphwright resume`"))
            self._end("failed")
        except Exception as exc:  # every failure becomes a terminal event, never a traceback
            if self.engine.state.unreachable(exc):
                self._unreachable(exc)
                return
            failed_step = self.ctx.failed_step if self.ctx else None
            events, status = failure_events(self.run_id, exc, failed_step, self.partial,
                                            self.engine.policy.key_source)
            for event in events:
                self.emit(event)
            self._end(status)

    def _announce(self, inputs: dict[str, Any], default: str, snapshot: Any) -> None:
        version = ConfigVersion.of(self.workflow, self.origin.original if self.origin else None)
        stamp = None
        if not self.resume:  # a resume runs the version its start recorded
            known = KNOWN_SECRETS.get()  # a key in a comment of the text as written never travels on
            origin = self.origin.model_dump(exclude={"original", "chat_request"}) if self.origin else {}
            stamp = ev.RunVersion(original=redact(version.original, known), canonical=version.canonical,
                                  chat_request=redact(self.origin.chat_request, known) if self.origin else "",
                                  **origin)
        self.emit(ev.RunStarted(run_id=self.run_id, workflow=self.workflow.name, config_hash=version.hash,
                                version=stamp, inputs=input_previews(self.workflow, inputs),
                                default_model=default, owner=self.stored.owner, resumed=self.resume,
                                accounted=_accounted(snapshot),
                                source_run_id=self.replay.source_run_id if self.replay else None))

    async def _starting_point(self, graph: Any, config: dict[str, Any], snapshot: Any,
                              inputs: dict[str, Any]) -> Any:
        """The graph input of this segment: fresh state, `None` (continue) or `Command(resume=...)`."""
        assert self.ctx is not None
        if snapshot is None:
            return initial_state(inputs)
        values = snapshot.values or {}
        if not values:  # the process died before the first checkpoint: start over
            return initial_state(prepare_inputs(self.workflow, self.stored.inputs))
        self.ctx.finished.update(values.get("outputs") or {})
        self.ctx.budget = Budget(self.workflow.limits, steps=values.get("steps_done", 0),
                                 tokens_in=values.get("tokens_in", 0), tokens_out=values.get("tokens_out", 0),
                                 cost_usd=values.get("cost_usd", 0.0))
        if snapshot.interrupts:
            if self.approval is None:
                await self._finish(graph, config, list(snapshot.interrupts))
                return _ALREADY_REPORTED
            decision = {"approved": self.approval.approved, "feedback": self.approval.feedback}
            target = self._asked(list(snapshot.interrupts))  # the approval the person was shown
            return Command(resume={target.id: decision})  # one approval at a time
        if not snapshot.next and not snapshot.tasks:  # finished before the status could be written
            await self._finish(graph, config, [])
            return _ALREADY_REPORTED
        # (No `next` but `tasks`: every task of the last checkpoint finished, but the checkpoint that
        # applies their writes was not saved before the crash. Continuing applies them and goes on.)
        return None

    async def _stream_graph(self, graph: Any, command: Any, config: dict[str, Any]) -> list[Any]:
        interrupts: list[Any] = []
        remaining = max(self.workflow.limits.timeout_seconds - 0.0, 0.001)
        try:
            stream = graph.astream(command, config, stream_mode=["custom", "updates"], version="v2",
                                   subgraphs=True, durability=self.engine.policy.durability)
            # `aclosing`: on cancellation LangGraph's own cleanup (pending checkpoint writes) must run
            # now, while the checkpointer is open, not at interpreter shutdown on a reopened connection.
            async with asyncio.timeout(remaining) as deadline, aclosing(stream):
                async for chunk in stream:
                    if chunk["type"] == "custom":  # node events, from the root graph or a branch subgraph
                        self.stamp(chunk["data"], enqueue=True, stamped=True)
                    elif not chunk["ns"] and "__interrupt__" in (chunk["data"] or {}):
                        interrupts.extend(chunk["data"]["__interrupt__"])
        except TimeoutError:
            if deadline.expired():
                raise _Timeout() from None
            raise
        return interrupts

    def _asked(self, interrupts: list[Any]) -> Any:
        """Of several pending approvals, the one already shown (kept in the run table), else the first."""
        shown = (self.stored.pending or {}).get("interrupt_id")
        return next((i for i in interrupts if i.id == shown), interrupts[0])

    async def _finish(self, graph: Any, config: dict[str, Any], interrupts: list[Any]) -> None:
        if interrupts:
            chosen = self._asked(interrupts)
            pending = {**dict(chosen.value), "interrupt_id": chosen.id}
            self.emit(ev.approval_requested(self.run_id, pending))
            self.emit(ev.RunInterrupted(run_id=self.run_id, reason="approval", outputs=self.partial))
            self._end("interrupted", pending=pending)
            return
        values = (await graph.aget_state(config)).values or {}
        outputs = values.get("outputs") or {}
        self.emit(ev.RunFinished(
            run_id=self.run_id, output=outputs.get(values.get("ended") or self.workflow.steps[-1].id),
            outputs=outputs,
            tokens_in=values.get("tokens_in", 0), tokens_out=values.get("tokens_out", 0),
            cost_usd=round(values.get("cost_usd", 0.0), 8),
            duration_s=round(self.stored.elapsed_s + self._elapsed(), 6),
        ))
        self._end("finished")


def _accounted(snapshot: Any) -> list[int] | None:
    """What the restored checkpoint holds of the run's recorded work (see `RunStarted.accounted`)."""
    if snapshot is None:
        return None
    values = snapshot.values or {}
    if values and "accounted" not in values:  # a checkpoint from before the ledger existed
        return None
    return sorted(values.get("accounted") or [])


class StateUnreachable(Exception):
    """A worker's segment lost its state store; raised to Temporal, which retries it from the checkpoint."""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class _Timeout(Exception):
    """The segment's wall-clock limit fired."""


_ALREADY_REPORTED = object()
