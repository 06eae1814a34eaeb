"""What every node shares: the run's context, usage accounting, and the step wrapper.

Nodes reach the run's model client, budget and event emitter through `CURRENT_RUN`, a stand-in for
the `RunContext` the driver sets (a context variable, copied into every LangGraph task), so those
never enter the checkpointed state and one compiled graph serves every run of a workflow. Events
are stamped and handed to the sinks the moment they happen (so history and MLflow see them even if
the consumer stops), then written to LangGraph's `custom` stream for the live consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp

from orchestrator import events as ev
from orchestrator.artifacts import write_artifact
from orchestrator.budget import Budget
from orchestrator.errors import (
    AuthenticationFailed,
    BudgetExhausted,
    CircuitOpen,
    DiskFull,
    ModelCallError,
    ModelNotFound,
    RunRejected,
    StepFailed,
)
from orchestrator.llm_types import LLMResult, ModelClient, ModelParams
from orchestrator.policy import Policy
from orchestrator.replay import ReplayPlan, enclosing_loops, execution_key
from orchestrator.state import RunState, template_context
from orchestrator.text import shorten
from schemas.errors import SchemaError
from schemas.expressions import evaluate
from schemas.models import Workflow
from schemas.templates import find_references, render, resolve, to_text
from schemas.walk import all_steps, iter_steps

PREVIEW_CHARS = 300
COUNTERS = ("steps_done", "tokens_in", "tokens_out", "cost_usd")  # the state's summed counters


@dataclass
class ModelTable:
    """Model names of the config (aliases or LiteLLM strings) resolved to call parameters."""

    default: str
    params: dict[str, ModelParams]

    def get(self, name: str | None) -> ModelParams:
        return self.params[name or self.default]


@dataclass
class RunContext:
    run_id: str
    workflow: Workflow
    client: ModelClient
    budget: Budget
    policy: Policy
    models: ModelTable
    stamp: Callable[[Any], Any]  # gives the event its seq, feeds the sinks, returns it
    finished: dict[str, Any] = field(default_factory=dict)  # step outputs so far (partial results)
    started_at: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None  # the step whose failure ended the run
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # named secrets of http tools
    steps: dict[str, Any] = field(init=False, repr=False)  # step id -> its model (ids are unique)

    in_map: frozenset[str] = field(init=False, repr=False)  # steps inside a map's body (run per item)
    loops_around: dict[str, tuple[str, ...]] = field(init=False, repr=False)  # step id -> loops it is in

    def __post_init__(self) -> None:
        self.steps = {step.id: step for step in all_steps(self.workflow)}
        self.loops_around = enclosing_loops(self.workflow.steps)
        self.in_map = frozenset(inner.id for step in self.steps.values() if step.type == "map"
                                for child in step.children() for inner, _ in iter_steps(child.steps))

    def execution(self, step_id: str, state: RunState, item_index: int | None) -> str:
        """Which execution of the step this is (its loop rounds and map item): see `replay.execution_key`."""
        return execution_key(state.get("loops"), item_index, self.loops_around.get(step_id, ()))

    def keep(self, step_id: str, output: Any) -> None:
        """Remember a finished step's output for partial results (a map body's are per item: not kept)."""
        if step_id not in self.in_map:
            self.finished[step_id] = output
    data_dir: Path | None = None  # where the run's folder (artifacts) lives
    notes: set[str] = field(default_factory=set)  # warnings already given once in this run
    replay: ReplayPlan | None = None  # a replay run: which step executions are served from the source run

    def warn_once(self, message: str, step_id: str | None = None) -> None:
        if message not in self.notes:
            self.notes.add(message)
            self.emit(ev.Warning(run_id=self.run_id, step_id=step_id, message=message))

    def save_artifact(self, step_id: str, output: Any) -> None:
        """Write the step's artifact, if it declares one, and announce it."""
        step = self.steps.get(step_id)
        spec = step.artifact if step is not None else None
        if spec is None or self.data_dir is None:
            return
        fmt, size, digest = write_artifact(self.data_dir, self.run_id, spec, output, step_id)
        self.emit(ev.ArtifactWritten(run_id=self.run_id, step_id=step_id, name=spec.name, format=fmt,
                                     bytes=size, sha256=digest))

    def emit(self, event: Any) -> Any:
        """Stamp `event` (seq, sinks), write it to the live stream, and return it stamped."""
        stamped = self.stamp(event)
        try:
            writer = get_stream_writer()
        except RuntimeError:  # outside a graph (should not happen in nodes)
            return stamped
        writer(stamped)
        return stamped


_RUN: ContextVar[RunContext] = ContextVar("graphwright_run")


class _CurrentRun:
    """Delegates to the `RunContext` of the run executing in this context."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_RUN.get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_RUN.get(), name, value)


CURRENT_RUN: RunContext = _CurrentRun()  # type: ignore[assignment]


@contextmanager
def running(ctx: RunContext) -> Iterator[None]:
    """Make `ctx` the context of the nodes executed inside this block (and the tasks it starts)."""
    token = _RUN.set(ctx)
    try:
        yield
    finally:
        _RUN.reset(token)


@dataclass(frozen=True)
class Scope:
    """Where a step sits: its innermost loop, inside a map the name of the item, and its parent."""

    loop_id: str | None = None
    item_name: str | None = None
    parent: str | None = None  # the innermost composite step around it (for the trace's nesting)

    def inside(self, parent: str, **changes: Any) -> Scope:
        return replace(self, parent=parent, **changes)

    def context(self, state: RunState) -> dict[str, Any]:
        return template_context(state, loop_id=self.loop_id, item_name=self.item_name)

    def iteration(self, state: RunState) -> int | None:
        return (state.get("loops") or {}).get(self.loop_id) if self.loop_id else None


@dataclass
class Usage:
    """What one step spent across its model calls (tool loops and repairs included)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    model: str | None = None
    synthetic: bool = False
    execution: str = ""  # which execution of the step: its loop iterations and map item (tool journal)
    calls: list[int] = field(default_factory=list)  # seqs of this execution's `LLMCall` events

    def add(self, result: LLMResult) -> None:
        self.tokens_in += result.tokens_in
        self.tokens_out += result.tokens_out
        self.cost_usd += result.cost_usd
        self.attempts += result.attempts
        self.model = result.model
        self.synthetic = self.synthetic or result.synthetic

    def delta(self, *finished: int) -> dict[str, Any]:
        """The counters' state delta; `finished`: the seq of the step's `StepFinished`, if any."""
        return {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost_usd": self.cost_usd,
                "accounted": [*self.calls, *finished]}


def fill(text: str, context: dict[str, Any], step_id: str, *, raw: bool = False) -> Any:
    """Render (or, with `raw`, resolve) a template; a missing value fails the step clearly."""
    try:
        return resolve(text, context) if raw else render(text, context)
    except SchemaError as exc:
        raise StepFailed(f"step `{step_id}`: {exc}", step_id=step_id) from None


def holds(condition: str, context: dict[str, Any], step_id: str) -> bool:
    """Evaluate an `until`/`when` condition; a list function given a non-list fails the step clearly."""
    try:
        return evaluate(condition, context)
    except SchemaError as exc:
        raise StepFailed(f"step `{step_id}`: condition `{condition}`: {exc}", step_id=step_id) from None
def template_sources(text: str, context: dict[str, Any]) -> dict[str, str]:
    """Each reference of a template with the text it inserts (what an overflow names and shortens)."""
    sources: dict[str, str] = {}
    for ref in find_references(text):
        try:
            sources[ref.dotted] = to_text(resolve("{{ " + ref.dotted + " }}", context))
        except SchemaError:
            continue
    return sources


def preview(value: Any) -> str:
    text = to_text(value)
    return shorten(text, PREVIEW_CHARS)


async def run_step(
    ctx: RunContext,
    state: RunState,
    step_id: str,
    step_type: str,
    scope: Scope,
    body: Callable[[Usage], Awaitable[Any]],
    *,
    agent: str | None = None,
    item_index: int | None = None,
    item_label: str | None = None,
    slot: str | None = None,
) -> dict[str, Any]:
    """Count, announce, run and report one leaf step; returns the state delta.

    `slot` stores the output under `map_slots` instead of `outputs`. Inside a map's body the item
    comes with the state, so every body step's events carry its `item_index`.
    """
    if item_index is None and "item" in state:
        item_index, item_label = state.get("item_index"), shorten(preview(state["item"]), 60)
    ctx.budget.start_step(step_id)
    ctx.emit(ev.StepStarted(run_id=ctx.run_id, step_id=step_id, step_type=step_type, agent=agent,
                            iteration=scope.iteration(state), item_index=item_index, item_label=item_label,
                            parent=scope.parent))
    execution = ctx.execution(step_id, state, item_index)
    usage, started = Usage(execution=execution), time.monotonic()
    served = ctx.replay is not None and not ctx.replay.replays(step_id, execution)
    try:
        if served:
            assert ctx.replay is not None
            output = ctx.replay.recorded(step_id, execution)
        else:
            output = await _attempts(ctx, step_id, body, usage)
        ctx.save_artifact(step_id, output)
    except (GraphBubbleUp, asyncio.CancelledError):
        raise
    except Exception as exc:
        ctx.failed_step = step_id
        error = exc.sentence(ctx.policy.key_source) if isinstance(exc, ModelCallError) else str(exc)
        ctx.emit(_finished(ctx, step_id, step_type, usage, started, item_index, status="failed", error=error,
                           execution=execution))
        setattr(exc, _SPENT, usage.delta())  # noqa: B010 - read by `spent_by_failed_step`
        raise
    done = ctx.emit(_finished(ctx, step_id, step_type, usage, started, item_index, output=output,
                              execution=execution, served=served))
    if slot is None:
        ctx.keep(step_id, output)
        delta: dict[str, Any] = {"outputs": {step_id: output}}
    else:
        delta = {"map_slots": {slot: output}}
    return {**delta, "steps_done": 1, **usage.delta(done.seq)}


_SPENT = "_graphwright_spent"


def spent_by_failed_step(exc: BaseException) -> dict[str, Any]:
    """The usage delta of the step whose failure `exc` is: a supervisor that hands the failure back
    to its manager as a tool error still counts the calls that step made."""
    return dict(getattr(exc, _SPENT, {}))


# Failures another attempt cannot fix: limits, a person's decision, a full disk, a key or model name.
_FINAL = (BudgetExhausted, RunRejected, DiskFull, AuthenticationFailed, ModelNotFound, CircuitOpen)


async def _attempts(ctx: RunContext, step_id: str, body: Callable[[Usage], Awaitable[Any]], usage: Usage) -> Any:
    """Run `body` under the step's `timeout_seconds` and `retry`; failed attempts' usage still counts."""
    step = ctx.steps.get(step_id)
    retry, timeout = getattr(step, "retry", None), getattr(step, "timeout_seconds", None)
    attempts, delay = (retry.attempts, retry.backoff_seconds) if retry is not None else (1, 0.0)
    for attempt in range(1, attempts + 1):
        try:
            if timeout is None:
                return await body(usage)
            try:
                return await asyncio.wait_for(body(usage), timeout)
            except TimeoutError:
                raise StepFailed(f"step `{step_id}` did not finish within its timeout_seconds={timeout:g}; "
                                 "raise it or add `retry`", step_id=step_id) from None
        except (GraphBubbleUp, asyncio.CancelledError, *_FINAL):
            raise
        except Exception as exc:
            if attempt == attempts:
                raise
            ctx.emit(ev.Warning(run_id=ctx.run_id, step_id=step_id,
                                message=f"step `{step_id}` failed on attempt {attempt} of {attempts} "
                                f"({exc}); trying again in {delay:g} s"))
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")


def _finished(ctx: RunContext, step_id: str, step_type: str, usage: Usage, started: float,
              item_index: int | None, *, status: str = "ok", output: Any = None,
              error: str | None = None, execution: str | None = None, served: bool = False) -> ev.StepFinished:
    return ev.StepFinished(
        run_id=ctx.run_id, step_id=step_id, step_type=step_type, status=status,  # type: ignore[arg-type]
        duration_s=round(time.monotonic() - started, 6), tokens_in=usage.tokens_in,
        tokens_out=usage.tokens_out, cost_usd=usage.cost_usd, model=usage.model,
        attempts=max(usage.attempts, 1) if usage.model else 1, synthetic=usage.synthetic,
        output_preview=preview(output) if status == "ok" else "", error=error, item_index=item_index,
        output=output if status == "ok" else None, execution=execution, served=served,
    )


def _timer(step_id: str, item_index: int | None) -> str:
    """The `started_at` key of a composite's execution (map items run the same step at once)."""
    return step_id if item_index is None else f"{step_id}/{item_index}"


def begin_composite(ctx: RunContext, state: RunState, step_id: str, step_type: str, scope: Scope) -> None:
    """The opening of a parallel/map/route/loop step: counted once, finished by its end node."""
    ctx.budget.start_step(step_id)
    ctx.started_at[_timer(step_id, state.get("item_index"))] = time.monotonic()
    ctx.emit(ev.StepStarted(run_id=ctx.run_id, step_id=step_id, step_type=step_type,
                            iteration=scope.iteration(state), parent=scope.parent,
                            item_index=state.get("item_index")))


def end_composite(ctx: RunContext, step_id: str, step_type: str, output: Any, **detail: Any) -> dict[str, Any]:
    """The closing of a composite step; `detail` fills `branch` (route), `iterations` (loop) or
    `item_index` (inside a map's body)."""
    started = ctx.started_at.pop(_timer(step_id, detail.get("item_index")), time.monotonic())
    ctx.save_artifact(step_id, output)
    done = ctx.emit(ev.StepFinished(run_id=ctx.run_id, step_id=step_id, step_type=step_type,
                                    duration_s=round(time.monotonic() - started, 6),
                                    output_preview=preview(output), output=output, **detail))
    ctx.keep(step_id, output)
    return {"outputs": {step_id: output}, "accounted": [done.seq]}
