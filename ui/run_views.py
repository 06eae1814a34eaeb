"""What the Run tab's trace components show, and the few rules for updating them.

`views` maps the session's `TraceView` to the components' values; `refused` turns a refusal (a bad
config, a missing input, a run that is not waiting) into a trace the page keeps showing, instead of
a toast that fades and error badges over every output.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ui.funnel import friendly_message
from ui.safe_text import safe_markdown
from ui.session import Session
from ui.streaming import batched
from ui.trace_view import TraceView

UPDATE_INTERVAL = 0.2


def views(session: Session) -> tuple[Any, ...]:
    """The trace components' values for the session's current trace."""
    t = session.trace
    waiting = t.status == "waiting" and t.approval_step is not None
    approval = _pending_markdown(t) if waiting else ""
    return (t.status_markdown(), t.timeline_html(), t.current_text, t.tools_html(), t.output,
            gr.update(visible=waiting), approval, gr.update(interactive=t.status == "running"), session)


def _pending_markdown(t: TraceView) -> str:
    """What the person is asked: an approval, or an `ask` step's question (answered in the feedback box)."""
    if not t.approval_is_question:
        return f"**Approval needed** for step `{t.approval_step}`:\n\n{safe_markdown(t.approval_message)}"
    choices = t.approval_choices
    how = ("Type one of " + ", ".join(f"`{safe_markdown(c)}`" for c in choices) if choices
           else "Type your answer")
    return (f"**Question** from step `{t.approval_step}`:\n\n{safe_markdown(t.approval_message)}\n\n"
            f"{how} in the box below and press **Approve** to send it (**Reject** stops the run).")


def refused(session: Session, exc: BaseException) -> tuple[Any, ...]:
    """The views after a run was refused before it started: the reason stays in the trace area."""
    session.trace = TraceView(status="refused", message=friendly_message(exc))
    return views(session)


def only_changes(previous: tuple[Any, ...] | None, current: tuple[Any, ...]) -> tuple[Any, ...]:
    """`current` with `gr.skip()` for every value the page already shows (smaller, faster updates).

    The session (last) is mutated in place, so it is only sent with the final update.
    """
    if previous is None:
        return current
    values = [gr.skip() if isinstance(new, str) and new == old else new
              for new, old in zip(current[:-1], previous[:-1], strict=True)]
    return (*values, gr.skip())


async def stream(session: Session, source: AsyncIterator[Any]) -> AsyncIterator[tuple[Any, ...]]:
    """Fold the engine's events into the session's trace, a few page updates a second."""
    sent: tuple[Any, ...] | None = None
    async for batch in batched(source, UPDATE_INTERVAL):
        session.trace.apply_all(batch)
        current = views(session)
        yield only_changes(sent, current)
        sent = current
    yield views(session)
