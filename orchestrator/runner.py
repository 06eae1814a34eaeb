"""The `Engine`: run a workflow (or resume one) and stream its typed events.

A run is driven by its own task, which feeds the sinks synchronously as events happen and queues
them for the consumer; so history and MLflow see every event even when the consumer is slow or
gone, and cancelling the consumer (the UI's Stop, Ctrl-C) cancels the driver, which records
`RunCancelled` (with the outputs finished so far) before the cancellation propagates.

Endings: `RunFinished`; `RunFailed` (a step, provider or budget failure — budgets also emit
`BudgetExceeded`); the wall-clock limit emits `BudgetExceeded(limit="timeout_seconds")` then
`RunFailed(reason="timeout")` (a limit fired, like the token budget; the run stays resumable);
`RunCancelled` (Stop/Ctrl-C, or `reason="rejected"` when an approval stops the run);
`RunInterrupted(reason="approval")` after `ApprovalRequested`. The timeout covers one segment of a
run (`run` or `resume`), so time spent waiting for a person does not count.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import hashlib
import logging
import sqlite3
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import events as ev
from orchestrator.checkpoints import SeqCounter, StoredRun
from orchestrator.credentials import Credentials
from orchestrator.deployment import Deployment, open_run_state
from orchestrator.errors import (
    BudgetExhausted,
    DiskFull,
    InvalidAnswer,
    ModelCallError,
    RunError,
    RunNotResumable,
    RunRejected,
)
from orchestrator.foreground import person_run
from orchestrator.llm_types import ModelClient
from orchestrator.policy import Policy
from orchestrator.redaction import KNOWN_SECRETS, event_without_known, input_holding_a_key, usable
from orchestrator.replay import ReplayPlan, plan_from_json, plan_to_json
from orchestrator.state import InputsError
from orchestrator.tool_journal import CURRENT_JOURNAL
from orchestrator.workers import CURRENT_OWNER, CURRENT_RUN_ID, CURRENT_WORKERS, Workers
from schemas.steps.ask import matching_choice

log = logging.getLogger(__name__)
_DONE = object()
GRAPH_CACHE = 32


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    feedback: str = ""


class Engine:
    """Runs workflows; one per process (or per session when credentials differ)."""

    def __init__(self, *, data_dir: Path | None = None, client: ModelClient | None = None,
                 credentials: Credentials | None = None, policy: Policy | None = None,
                 sinks: Sequence[Callable[[ev.Event], None]] = (), workers: Workers | None = None,
                 deployment: Deployment | None = None) -> None:
        from orchestrator.paths import data_dir as default_data_dir

        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.credentials = credentials if credentials is not None else Credentials.from_env()
        self.policy = policy or Policy()
        self.sinks = list(sinks)
        self.workers = workers or Workers()  # the app passes its one: the sandbox caps are per process
        self._client = client
        self._fallback_model: str | None = None
        self._graphs: OrderedDict[str, Any] = OrderedDict()  # workflow JSON digest -> compiled graph
        # run records, tool journal (at-most-once tool calls), checkpointer: files here, or PostgreSQL
        self.state = open_run_state(self.data_dir, deployment if deployment is not None else Deployment.from_env())
        self.store, self.journal = self.state.records, self.state.journal

    def with_credentials(self, credentials: Credentials) -> Engine:
        """This engine with other keys (a cluster worker running one visitor's segment): the same
        stores, compiled graphs, sinks and workers; its own model client and embedded default."""
        other = copy.copy(self)
        other.credentials, other._client, other._fallback_model = credentials, None, None
        return other

    def compiled(self, workflow: Any) -> Any:
        """The compiled graph of `workflow`, built once per distinct config (LRU of `GRAPH_CACHE`)."""
        from orchestrator.compiler import compile_workflow

        key = hashlib.sha256(workflow.model_dump_json().encode()).hexdigest()
        graph = self._graphs.pop(key, None) or compile_workflow(workflow)
        self._graphs[key] = graph
        while len(self._graphs) > GRAPH_CACHE:
            self._graphs.popitem(last=False)
        return graph

    @property
    def client(self) -> ModelClient:
        if self._client is None:
            from orchestrator.llm import LiteLLMClient

            self._client = LiteLLMClient(self.credentials)
        return self._client

    async def _embedded_default(self) -> str:
        if self._fallback_model is None:
            from orchestrator.hf_inference import hosted_default
            from orchestrator.providers import detect_ollama, embedded_default

            # on a Space with a Hugging Face token: Inference Providers; else Ollama, else offline
            self._fallback_model = hosted_default(self.credentials) or embedded_default(
                await self.workers.run_in("detect", detect_ollama))
        return self._fallback_model

    # ---- public API -----------------------------------------------------------------------------

    async def run(self, workflow: Any, inputs: dict[str, Any], *, owner: str = "", run_id: str | None = None,
                  model_override: str | None = None, origin: ev.RunOrigin | None = None,
                  replay: ReplayPlan | None = None) -> AsyncIterator[ev.Event]:
        """Start a run; yields its events, ending with one terminal event (see the module doc).

        `origin` says where the config came from (its text, the chat turn, the pre-run estimate):
        history files it with the config version this run records. `replay`: serve every step
        execution it does not choose from its source run (`orchestrator.replay`).
        """
        with person_run():  # from the start: the app's warm-up steps aside (`orchestrator.foreground`)
            stored = self.create_run(workflow, inputs, owner=owner, run_id=run_id, model_override=model_override,
                                     replay=replay)
            async with aclosing(self._stream(stored, resume=False, approval=None, origin=origin,
                                             replay=replay)) as events:
                async for event in events:  # closed with this generator: the driver ends (and records why) now
                    yield event

    def create_run(self, workflow: Any, inputs: dict[str, Any], *, owner: str = "", run_id: str | None = None,
                   model_override: str | None = None, replay: ReplayPlan | None = None) -> StoredRun:
        """Check the inputs and save the run's record (a run executing elsewhere starts from it), with
        its replay plan, so every segment, wherever it runs, serves what the plan serves."""
        run_id = run_id or uuid.uuid4().hex
        holding = input_holding_a_key(inputs, usable(self.credentials.known_secrets()))
        if holding is not None:  # inputs are stored with the run: a key must never get there
            raise InputsError(
                f"The input `{holding}` contains an API key. Keys are never accepted as run inputs (inputs are "
                "saved with the run); remove it — the run already uses your keys from Settings (in the CLI: "
                "the provider's environment variable, e.g. OPENAI_API_KEY).")
        if self.store.get(run_id) is not None:
            raise ValueError(f"run id `{run_id}` is already used; continue that run with `resume` or pick a new id")
        try:
            self.store.create(run_id, workflow, inputs, owner, model_override)
            if replay is not None:
                self.store.save_replay(run_id, plan_to_json(replay))
        except (sqlite3.Error, OSError) as exc:
            full = disk_full(exc, self.data_dir)
            if full is None:
                raise
            raise full from exc
        stored = self.store.get(run_id)
        assert stored is not None
        return stored

    async def resume(self, run_id: str, *, approval: ApprovalDecision | None = None,
                     owner: str = "") -> AsyncIterator[ev.Event]:
        """Continue a crashed, cancelled, failed or paused run from its last checkpoint.

        Without `approval`, a run waiting for one just reports the pending approval again.
        """
        stored = self.check_resumable(run_id, approval=approval, owner=owner)
        async with aclosing(self.segment(stored, resume=True, approval=approval)) as events:  # a replay keeps its plan
            async for event in events:
                yield event

    async def follow_running(self, owner: str) -> AsyncIterator[ev.Event]:
        """Nothing, here (`RunExecutor.follow_running`): an in-process run's events go only to the handler that
        started it, and closing its page stops it, so there is never a run another page could pick up."""
        return
        yield

    def check_resumable(self, run_id: str, *, approval: ApprovalDecision | None = None,
                        owner: str = "") -> StoredRun:
        """The run to resume, or `RunNotResumable`/`InvalidAnswer` saying why it cannot be."""
        stored = self.store.get(run_id)
        if stored is None:
            raise RunNotResumable(f"no run `{run_id}` in {self.state.where}; check the run id and the data dir")
        if owner and stored.owner and owner != stored.owner:
            raise RunNotResumable(f"run `{run_id}` belongs to another user")
        if stored.status in ("finished", "rejected"):
            raise RunNotResumable(f"run `{run_id}` has already ended ({stored.status}); start a new run instead")
        pending = stored.pending or {}
        if approval is not None and approval.approved and pending.get("kind") == "input":
            choices = pending.get("choices")
            if matching_choice(approval.feedback, choices) is None:
                wanted = f"one of {', '.join(repr(c) for c in choices)}" if choices else "some text"
                raise InvalidAnswer(f"question `{pending.get('step_id')}` needs {wanted} as its answer; "
                                    "the run is still waiting for it")
        return stored

    async def segment(self, stored: StoredRun, *, resume: bool, approval: ApprovalDecision | None,
                      origin: ev.RunOrigin | None = None) -> AsyncIterator[ev.Event]:
        """Drive one segment of a stored run, here (a cluster worker's entry point; `run`/`resume` check first)."""
        saved = self.store.replay_of(stored.run_id)
        replay = plan_from_json(saved) if saved is not None else None
        with person_run():
            async with aclosing(self._stream(stored, resume=resume, approval=approval, origin=origin,
                                             replay=replay)) as events:
                async for event in events:
                    yield event

    def pending_approval(self, run_id: str) -> ev.ApprovalRequested | None:
        stored = self.store.get(run_id)
        if stored is None or stored.status != "interrupted" or not stored.pending:
            return None
        return ev.approval_requested(run_id, stored.pending)

    # ---- driving a run --------------------------------------------------------------------------

    async def _stream(self, stored: StoredRun, *, resume: bool, approval: ApprovalDecision | None,
                      origin: ev.RunOrigin | None = None, replay: ReplayPlan | None = None
                      ) -> AsyncIterator[ev.Event]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        seq = SeqCounter(self.store, stored.run_id, stored.seq_reserved)

        known = usable(self.credentials.known_secrets())

        def stamp(event: Any, *, enqueue: bool = True, stamped: bool = False) -> Any:
            """Number the event, clear it of known keys and feed the sinks (once); queue it if asked."""
            if not stamped:
                event = event_without_known(event, known)
                event.seq = seq.next()
                for sink in self.sinks:
                    try:
                        sink(event)
                    except Exception:  # a broken sink must not break the run or the other sinks
                        log.exception("event sink %r failed on %s", sink, event.type)
            if enqueue:
                queue.put_nowait(event)
            return event

        from orchestrator.drive import RunDriver

        driver = RunDriver(self, stored, stamp, resume=resume, approval=approval, origin=origin, replay=replay)
        self.journal.start_segment(stored.run_id)
        token = CURRENT_JOURNAL.set(self.journal)  # copied into the driver task and its node tasks
        owner_token = CURRENT_OWNER.set(stored.owner)  # whose sandbox slots the run's tool calls use
        run_token = CURRENT_RUN_ID.set(stored.run_id)  # the label on the run's sandbox containers
        secrets_token = KNOWN_SECRETS.set(known)  # tool results are cleared of these keys
        workers_token = CURRENT_WORKERS.set(self.workers)
        task = asyncio.create_task(driver.drive())
        CURRENT_WORKERS.reset(workers_token)
        KNOWN_SECRETS.reset(secrets_token)
        CURRENT_RUN_ID.reset(run_token)
        CURRENT_OWNER.reset(owner_token)
        CURRENT_JOURNAL.reset(token)
        task.add_done_callback(lambda _t: queue.put_nowait(_DONE))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                yield item
            await task
        except (asyncio.CancelledError, GeneratorExit):
            if not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            raise


def failure_events(run_id: str, exc: BaseException, step_id: str | None, outputs: dict[str, Any],
                   key_source: str = "settings") -> tuple[list[ev.Event], str]:
    """The terminal events for an exception that ended a run, and the run's new status."""
    if isinstance(exc, BudgetExhausted):
        return [
            ev.BudgetExceeded(run_id=run_id, limit=exc.limit, limit_value=exc.limit_value, used=exc.used),  # type: ignore[arg-type]
            ev.RunFailed(run_id=run_id, reason="budget", message=str(exc), step_id=exc.step_id or step_id,
                         outputs=outputs),
        ], "failed"
    if isinstance(exc, RunRejected):
        return [ev.RunCancelled(run_id=run_id, reason="rejected", outputs=outputs)], "rejected"
    if isinstance(exc, RunError):
        return [ev.RunFailed(run_id=run_id, reason=exc.reason, message=str(exc), step_id=exc.step_id or step_id,
                             outputs=outputs)], "failed"
    if isinstance(exc, ModelCallError):
        message = exc.sentence(key_source)
        return [ev.RunFailed(run_id=run_id, reason=exc.kind, message=message, step_id=step_id,
                             outputs=outputs)], "failed"
    if isinstance(exc, InputsError):
        return [ev.RunFailed(run_id=run_id, reason="config", message=str(exc), outputs=outputs)], "failed"
    full = disk_full(exc)
    if full is not None:
        return [ev.RunFailed(run_id=run_id, reason=full.reason, message=str(full), step_id=step_id,
                             outputs=outputs)], "failed"
    log.error("run %s failed unexpectedly", run_id, exc_info=exc)
    return [ev.RunFailed(run_id=run_id, reason="internal", message=f"{type(exc).__name__}: {exc}",
                         step_id=step_id, outputs=outputs)], "failed"



def disk_full(exc: BaseException, data_dir: Path | None = None) -> DiskFull | None:
    """A clear `DiskFull` when `exc` is the disk (or quota) running out while saving, else None."""
    text = str(exc).lower()
    if not ((isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
            or "disk is full" in text or "no space left" in text):
        return None
    where = f" '{data_dir}'" if data_dir is not None else ""
    return DiskFull(f"the disk holding the data directory{where} is full, so the run cannot be saved; free "
                    "some disk space (or set GRAPHWRIGHT_DATA_DIR to another disk), then start or resume it again")
