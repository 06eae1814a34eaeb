"""Run events → trace rows: the one state machine every view of a run uses (Run tab, replay, CLI).

`TraceRows.apply(event)` folds one event in and returns the rows it changed, so a live view can
redraw or print just those. One row is one step execution: a map item, a loop round and a parallel
branch each get their own row under their parent's (`depth`, `label`). The rules that keep the
rows truthful:

- a `StepFinished` closes the open row of the same execution (step id and map item), never another;
- a step that starts again after a pause or a crash (the approval step on resume, the step a crash
  cut short) takes over its unfinished row instead of leaving it beside the new one; so does a step
  that finished just before the crash or cancel but whose result the checkpoint did not keep, so
  that it starts again in the resumed segment;
- an approval rejected with `on_reject: continue` ends `rejected` (with a note), not `ok`;
- a terminal event closes every row still open: nothing is left `running`, and only the approval
  a paused run waits for is left `waiting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator import events as ev

OPEN = frozenset({"running", "waiting"})
# A row left unfinished by an earlier segment: a resumed step execution takes it over.
_UNFINISHED = frozenset({"running", "waiting", "stopped", "interrupted"})
COMPOSITE = frozenset({"parallel", "map", "route", "loop"})
MAX_TEXT = 200_000


@dataclass
class Row:
    """One step execution as the trace shows it."""

    step_id: str
    step_type: str
    agent: str | None = None
    parent: str | None = None
    depth: int = 0
    iteration: int | None = None
    item_index: int | None = None
    item_label: str | None = None
    status: str = "running"  # running | waiting | ok | failed | skipped | rejected | stopped | interrupted
    note: str = ""  # e.g. "continued after rejection", "stopped by you"
    started: float = 0.0
    duration_s: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    error: str | None = None
    tool_errors: int = 0
    text: str = ""
    rejected: bool = False
    finished_seq: int | None = None  # the seq of the `StepFinished` that closed it

    @property
    def label(self) -> str:
        """The row's name beside its step id: which map item or loop round it is."""
        if self.item_index is not None:
            name = f": {self.item_label}" if self.item_label else ""
            return f"item {self.item_index + 1}{name}"
        if self.iteration is not None:
            return f"round {self.iteration}"
        return ""

    def same_execution(self, step_id: str, item_index: int | None) -> bool:
        return self.step_id == step_id and self.item_index == item_index


@dataclass
class TraceRows:
    """The rows of one run (all its segments), folded from its events."""

    rows: list[Row] = field(default_factory=list)
    ended: str | None = None  # the last terminal event's type, None while the run goes on
    pending_approval: str | None = None
    segment_seq: int = 0  # the seq of the latest resumed segment's `RunStarted`

    @property
    def tool_errors(self) -> int:
        return sum(row.tool_errors for row in self.rows)

    def open_rows(self) -> list[Row]:
        return [row for row in self.rows if row.status in OPEN]

    def _latest(self, step_id: str | None, item_index: int | None = None, *, any_item: bool = False,
                states: frozenset[str] | None = None) -> Row | None:
        for row in reversed(self.rows):
            if row.step_id == step_id and (any_item or row.item_index == item_index) and (
                    states is None or row.status in states):
                return row
        return None

    def apply(self, event: Any) -> list[Row]:
        """Fold one event in; returns the rows it changed (unknown event kinds change nothing)."""
        match event:
            case ev.RunStarted():  # a resumed segment asks again for an approval still pending
                self.ended, self.pending_approval = None, None
                if event.resumed:
                    self.segment_seq = event.seq
                return []
            case ev.StepStarted():
                return [self._start(event)]
            case ev.StepFinished():
                return [self._finish(event)]
            case ev.Token():
                row = self._latest(event.step_id, any_item=True, states=OPEN)
                if row is not None and len(row.text) < MAX_TEXT:
                    row.text += event.text
                return []
            case ev.ToolResult() if not event.ok:
                row = self._latest(event.step_id, any_item=True, states=OPEN) or self._latest(
                    event.step_id, any_item=True)
                if row is None:
                    return []
                row.tool_errors += 1
                return [row]
            case ev.ApprovalRequested():
                self.pending_approval = event.step_id
                row = self._latest(event.step_id, any_item=True)
                if row is None:
                    row = self._add(ev.StepStarted(run_id=event.run_id, step_id=event.step_id,
                                                   step_type="approval", ts=event.ts))
                row.status = "waiting"
                return [row]
            case ev.ApprovalResolved():
                self.pending_approval = None
                row = self._latest(event.step_id, any_item=True)
                if row is None:
                    return []
                row.rejected = not event.approved
                row.note = f"feedback: {event.feedback}" if event.feedback else ""
                row.status = "running"  # until the step finishes (continue) or the run ends (stop)
                return [row]
            case ev.RunFinished() | ev.RunFailed() | ev.RunCancelled() | ev.RunInterrupted():
                return self._end(event)
        return []

    def apply_all(self, events: list[Any]) -> None:
        for event in events:
            self.apply(event)

    # ---- transitions ---------------------------------------------------------------------------
    def _add(self, event: ev.StepStarted) -> Row:
        parent = None
        if event.parent:  # inside a map's body, the composite of the same item
            parent = self._latest(event.parent, event.item_index) or self._latest(event.parent, any_item=True)
        row = Row(event.step_id, event.step_type, event.agent, parent=event.parent,
                  depth=parent.depth + 1 if parent is not None else 0, iteration=event.iteration,
                  item_index=event.item_index, item_label=event.item_label, started=event.ts)
        if parent is None:
            self.rows.append(row)
        else:  # after the parent's last descendant, so children sit under their parent
            self.rows.insert(self._child_slot(parent, row), row)
        return row

    def _child_slot(self, parent: Row, row: Row) -> int:
        """Where a new child row goes: after its map item's earlier rows (items run at once, but
        each item's body steps read as one group), else after the parent's last descendant."""
        end = self._subtree_end(parent)
        if row.item_index is None or parent.item_index == row.item_index:
            return end
        start = self.rows.index(parent) + 1
        same = [r for r in self.rows[start:end] if r.depth == row.depth and r.item_index == row.item_index]
        return self._subtree_end(same[-1]) if same else end

    def _subtree_end(self, parent: Row) -> int:
        index = self.rows.index(parent) + 1
        while index < len(self.rows) and self.rows[index].depth > parent.depth:
            index += 1
        return index

    def _start(self, event: ev.StepStarted) -> Row:
        row = self._latest(event.step_id, event.item_index)
        if row is not None and row.iteration == event.iteration and (
                row.status in _UNFINISHED or self._lost(row)):
            if row.status == "ok":
                row.text = ""  # it streams its answer again
            row.status, row.note, row.error = "running", "", None  # the same execution, resumed
            return row
        return self._add(event)

    def _lost(self, row: Row) -> bool:
        """Whether `row` finished in an earlier segment (seqs only grow) yet its step starts again in
        this one: the checkpoint did not keep its result, so it runs again."""
        return row.status == "ok" and row.finished_seq is not None and row.finished_seq < self.segment_seq

    def _finish(self, event: ev.StepFinished) -> Row:
        row = self._latest(event.step_id, event.item_index, states=OPEN) or self._latest(
            event.step_id, event.item_index)
        if row is None:  # its start is in a segment we did not see
            row = self._add(ev.StepStarted(run_id=event.run_id, step_id=event.step_id,
                                           step_type=event.step_type, item_index=event.item_index, ts=event.ts))
        row.status, row.duration_s, row.finished_seq = event.status, event.duration_s, event.seq
        row.tokens_in, row.tokens_out, row.cost_usd = event.tokens_in, event.tokens_out, event.cost_usd
        row.model, row.error = event.model or row.model, event.error
        if row.rejected:  # `on_reject: continue` finishes the step ok, `stop` fails it
            outcome = "the run continued" if event.status == "ok" else "the run stopped"
            row.status, row.error = "rejected", None
            row.note = f"rejected, {outcome}" + (f" ({row.note})" if row.note else "")
        if not row.text and event.output_preview:
            row.text = event.output_preview
        return row

    def _end(self, event: Any) -> list[Row]:
        self.ended = event.type
        waiting_for = self.pending_approval if isinstance(event, ev.RunInterrupted) else None
        if not isinstance(event, ev.RunInterrupted):
            self.pending_approval = None
        changed = []
        for row in self.open_rows():
            if row.status == "waiting" and row.step_id == waiting_for:
                continue  # the paused run waits for exactly this
            row.status, row.note = _closing(event, row)
            changed.append(row)
        return changed


def _closing(event: Any, row: Row) -> tuple[str, str]:
    """The status and note of a row still open when the run ended with `event`."""
    match event:
        case ev.RunCancelled(reason="rejected") if row.rejected:
            return "rejected", "rejected, the run stopped"
        case ev.RunCancelled():
            return "stopped", f"stopped ({event.reason})"
        case ev.RunFailed(step_id=step) if step == row.step_id:
            return "failed", event.reason
        case ev.RunFailed():
            return "stopped", "the run failed"
        case ev.RunInterrupted():
            return "interrupted", f"interrupted ({event.reason})"
    return "stopped", "ended without a result"
