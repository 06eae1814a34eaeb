"""Build the event stream of whole runs, the way the engine emits it."""

from __future__ import annotations

from dataclasses import dataclass, field

from history.store import HistoryStore
from orchestrator import events as ev

DAY = 86_400.0
T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC: fixed, so day buckets are known


@dataclass
class Call:
    model: str
    cost: float
    latency: float
    tokens_in: int = 100
    tokens_out: int = 50
    ttft: float | None = None
    error: str | None = None


@dataclass
class Step:
    step_id: str
    duration: float
    calls: list[Call] = field(default_factory=list)


def run_events(
    run_id: str,
    *,
    owner: str = "alice",
    workflow: str = "triage",
    steps: list[Step] = (),  # type: ignore[assignment]
    end: str = "finished",
    start: float = T0,
    duration: float = 1.0,
    reason: str = "provider_error",
) -> list[ev.Event]:
    """The events the engine emits for one run, in order, with seq numbers and timestamps."""
    out: list[ev.Event] = [ev.RunStarted(run_id=run_id, workflow=workflow, owner=owner, ts=start)]
    t = start
    for step in steps:
        out.append(ev.StepStarted(run_id=run_id, step_id=step.step_id, step_type="llm", ts=t))
        for call in step.calls:
            t += call.latency
            out.append(ev.LLMCall(
                run_id=run_id, step_id=step.step_id, model=call.model, provider="openai", ts=t,
                tokens_in=call.tokens_in, tokens_out=call.tokens_out, cost_usd=call.cost,
                latency_s=call.latency, ttft_s=call.ttft, error=call.error,
            ))  # fmt: skip
        out.append(ev.StepFinished(
            run_id=run_id, step_id=step.step_id, step_type="llm", ts=t, duration_s=step.duration,
            tokens_in=sum(c.tokens_in for c in step.calls), tokens_out=sum(c.tokens_out for c in step.calls),
            cost_usd=sum(c.cost for c in step.calls), model=step.calls[0].model if step.calls else None,
        ))  # fmt: skip
    end_ts = start + duration
    if end == "finished":
        calls = [c for s in steps for c in s.calls]
        out.append(ev.RunFinished(run_id=run_id, ts=end_ts, duration_s=duration,
                                  tokens_in=sum(c.tokens_in for c in calls), tokens_out=sum(c.tokens_out for c in calls),
                                  cost_usd=sum(c.cost for c in calls)))
    elif end == "failed":
        out.append(ev.RunFailed(run_id=run_id, ts=end_ts, reason=reason, message="it broke"))
    elif end == "cancelled":
        out.append(ev.RunCancelled(run_id=run_id, ts=end_ts))
    for seq, event in enumerate(out):
        event.seq = seq
    return out


def record_all(store: HistoryStore, events: list[ev.Event]) -> None:
    for event in events:
        store.record(event)
