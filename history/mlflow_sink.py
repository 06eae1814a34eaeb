"""Opt-in MLflow tracing: each run becomes a trace, with one span per step and per LLM call.

Turned on with `GRAPHWRIGHT_MLFLOW=1` (or `HistoryStore(..., mlflow=True)`). MLflow is imported in
this tracer's own thread, so the app pays neither its import time nor its first-use database setup
unless tracing is on, and a slow trace export never slows a run. Traces go to a SQLite tracking
store under the data directory (`mlflow.db`; MLflow's file store is deprecated).

Span attributes are counts, costs, model names and ids -- never prompts, outputs or inputs -- and
error texts pass through the secret redactor first. A resumed run starts a new trace (the original
process and its spans are gone); the run record keeps the latest trace id.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from history.scrub import redact
from orchestrator import events as ev

log = logging.getLogger(__name__)

EXPERIMENT = "graphwright"
_STOP = object()


def _ns(ts: float) -> int:
    return int(ts * 1_000_000_000)


class MlflowTracer:
    def __init__(
        self,
        data_dir: str | Path,
        *,
        on_trace_id: Callable[[str, str], None] | None = None,
        experiment: str = EXPERIMENT,
        maxsize: int = 100_000,
    ) -> None:
        self.tracking_uri = f"sqlite:///{(Path(data_dir) / 'mlflow.db').resolve()}"
        self.experiment_name = experiment
        self.experiment_id: str | None = None
        self._on_trace_id = on_trace_id
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._cv = threading.Condition()
        self._put = 0
        self._done = 0
        self.rejected = 0
        self._roots: dict[str, Any] = {}
        self.trace_ids: OrderedDict[str, str] = OrderedDict()  # run id -> trace id (recent runs), for checks
        self._steps: dict[tuple[str, str], list[Any]] = {}
        self._thread = threading.Thread(target=self._loop, name="history-mlflow", daemon=True)
        self._thread.start()

    def put(self, event: ev.Event) -> None:
        if isinstance(event, ev.Token | ev.ToolCall | ev.ToolResult):
            return  # not spans: keeps the queue for what the trace shows
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.rejected += 1
            log.warning("MLflow tracing is behind; '%s' of run '%s' is not traced", event.type, event.run_id)
            return
        with self._cv:
            self._put += 1

    def put_job(self, job: Callable[[MlflowTracer], None]) -> None:
        """Run `job(self)` on the tracer's thread, after every event queued before it (blocks when full)."""
        self._queue.put(job)
        with self._cv:
            self._put += 1

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every queued event is handed to MLflow and MLflow's export queue is drained."""
        with self._cv:
            target = self._put
            ok = self._cv.wait_for(lambda: self._done >= target or not self._thread.is_alive(), timeout)
        return ok

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # -- the tracer thread --------------------------------------------------------------------

    def _setup(self) -> None:
        # This thread is already off the run's path: export each trace right here, synchronously,
        # so `flush()` means "in the tracking store" without MLflow's own export queue.
        os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(self.tracking_uri)
        client = MlflowClient(self.tracking_uri)
        found = client.get_experiment_by_name(self.experiment_name)
        self.experiment_id = found.experiment_id if found else client.create_experiment(self.experiment_name)

    def _loop(self) -> None:
        try:
            self._setup()
        except Exception:
            log.exception("MLflow tracing could not start (tracking store '%s')", self.tracking_uri)
        while True:
            event = self._queue.get()
            if event is _STOP:
                return
            if self.experiment_id is not None:
                try:
                    event(self) if callable(event) else self._handle(event)
                except Exception:  # tracing must never take the app down
                    log.exception("MLflow tracing failed on '%s' of run '%s'", getattr(event, "type", event),
                                  getattr(event, "run_id", ""))
            with self._cv:
                self._done += 1
                self._cv.notify_all()

    def _start(self, name: str, kind: str, parent: Any, ts: float, attributes: dict[str, Any]) -> Any:
        import mlflow

        return mlflow.start_span_no_context(
            name, span_type=kind, parent_span=parent, attributes=attributes, start_time_ns=_ns(ts),
            experiment_id=self.experiment_id if parent is None else None,
        )  # fmt: skip

    def _root(self, run_id: str, ts: float, workflow: str = "", attrs: dict[str, Any] | None = None) -> Any:
        root = self._roots.get(run_id)
        if root is None:
            import mlflow

            root = mlflow.start_span_no_context(
                f"run {workflow}".strip(), span_type="CHAIN", start_time_ns=_ns(ts),
                experiment_id=self.experiment_id,
                attributes={"graphwright.run_id": run_id, "workflow": workflow, **(attrs or {})},
                tags={"graphwright.run_id": run_id, "graphwright.workflow": workflow},
            )  # fmt: skip
            self._roots[run_id] = root
            self.trace_ids[run_id] = root.trace_id
            while len(self.trace_ids) > 100_000:
                self.trace_ids.popitem(last=False)
            if self._on_trace_id is not None:
                self._on_trace_id(run_id, root.trace_id)
        return root

    def _handle(self, event: ev.Event) -> None:
        match event:
            case ev.RunStarted():
                self._root(event.run_id, event.ts, event.workflow,
                           {"default_model": event.default_model, "resumed": event.resumed})  # fmt: skip
            case ev.StepStarted():
                span = self._start(f"step {event.step_id}", "CHAIN", self._root(event.run_id, event.ts), event.ts,
                                   {"step_id": event.step_id, "step_type": event.step_type})  # fmt: skip
                self._steps.setdefault((event.run_id, event.step_id), []).append(span)
            case ev.LLMCall():
                self._call(event)
            case ev.StepFinished():
                self._step_finished(event)
            case ev.RunFinished() | ev.RunFailed() | ev.RunCancelled() | ev.RunInterrupted():
                self._end_run(event)

    def _call(self, event: ev.LLMCall) -> None:
        open_steps = self._steps.get((event.run_id, event.step_id or ""), [])
        parent = open_steps[-1] if open_steps else self._root(event.run_id, event.ts)
        span = self._start(f"llm {event.model}", "LLM", parent, event.ts - event.latency_s, {
            "model": event.model, "provider": event.provider, "attempt": event.attempt,
            "tokens_in": event.tokens_in, "tokens_out": event.tokens_out, "cost_usd": event.cost_usd,
            "latency_s": event.latency_s, "ttft_s": event.ttft_s if event.ttft_s is not None else -1.0,
            "synthetic": event.synthetic,
        })  # fmt: skip
        attrs = {"error": redact(event.error)} if event.error else None
        span.end(attributes=attrs, status="ERROR" if event.error else "OK", end_time_ns=_ns(event.ts))

    def _step_finished(self, event: ev.StepFinished) -> None:
        open_steps = self._steps.get((event.run_id, event.step_id), [])
        span = open_steps.pop() if open_steps else self._start(
            f"step {event.step_id}", "CHAIN", self._root(event.run_id, event.ts), event.ts - event.duration_s,
            {"step_id": event.step_id, "step_type": event.step_type},
        )  # fmt: skip
        attrs: dict[str, Any] = {
            "status": event.status, "duration_s": event.duration_s, "tokens_in": event.tokens_in,
            "tokens_out": event.tokens_out, "cost_usd": event.cost_usd, "model": event.model or "",
            "attempts": event.attempts,
        }  # fmt: skip
        if event.error:
            attrs["error"] = redact(event.error)
        span.end(attributes=attrs, status="ERROR" if event.status == "failed" else "OK", end_time_ns=_ns(event.ts))

    def _end_run(self, event: ev.Event) -> None:
        root = self._roots.pop(event.run_id, None)
        for key in [k for k in self._steps if k[0] == event.run_id]:
            for span in self._steps.pop(key):
                span.end(status="ERROR", end_time_ns=_ns(event.ts))
        if root is None:
            return
        attrs: dict[str, Any] = {"status": event.type.removeprefix("run_")}
        if isinstance(event, ev.RunFinished):
            attrs.update(tokens_in=event.tokens_in, tokens_out=event.tokens_out, cost_usd=event.cost_usd,
                         duration_s=event.duration_s)  # fmt: skip
        elif isinstance(event, ev.RunFailed):
            attrs.update(reason=event.reason, message=redact(event.message))
        status = "OK" if isinstance(event, ev.RunFinished | ev.RunInterrupted) else "ERROR"
        root.end(attributes=attrs, status=status, end_time_ns=_ns(event.ts))
