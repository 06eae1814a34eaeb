"""Run events → what the Run tab shows: a step timeline, the streaming text, tools, cost vs budget.

`TraceView` folds the event stream into plain data (`apply`) and renders it (`timeline_html`,
`status_markdown`, ...) only when asked, so the UI can apply hundreds of token events and redraw
a few times a second. Every value that came from a model, a tool or the config is escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from orchestrator import events as ev
from orchestrator.text import shorten
from orchestrator.trace_rows import Row, TraceRows
from ui.safe_text import clip, esc, safe_markdown

_STATUS_ICON = (("running", "●"), ("ok", "✓"), ("failed", "✗"), ("skipped", "»"), ("waiting", "‖"),
                ("rejected", "⊘"), ("stopped", "■"), ("interrupted", "‖"))  # all in DejaVu
_ERROR_CHARS = 500


@dataclass
class ToolRow:
    step_id: str | None
    tool: str
    call_id: str
    arguments: str
    result: str | None = None
    ok: bool = True


@dataclass
class TraceView:
    """Everything the trace shows about one run, folded from its events."""

    run_id: str = ""
    workflow: str = ""
    status: str = "idle"  # idle | refused | running | waiting | finished | failed | cancelled | interrupted
    message: str = ""
    rows: TraceRows = field(default_factory=TraceRows)
    tools: list[ToolRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)  # "name (size)" of each file the run wrote
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None
    output: str = ""
    approval_step: str | None = None
    approval_message: str = ""
    approval_choices: list[str] | None = None  # an `ask` step's allowed answers
    approval_is_question: bool = False  # an `ask` step: the feedback box carries the answer
    events_seen: int = 0

    @property
    def steps(self) -> list[Row]:
        return self.rows.rows

    # ---- folding -------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        """Fold one event in; unknown kinds are ignored so new event types never break the page."""
        self.events_seen += 1
        self.rows.apply(event)
        match event:
            case ev.RunStarted():
                self.run_id, self.workflow, self.status = event.run_id, event.workflow, "running"
                self.message = "Resumed." if event.resumed else "Started."
            case ev.LLMCall():
                self.tokens_in += event.tokens_in
                self.tokens_out += event.tokens_out
                self.cost_usd += event.cost_usd
            case ev.ToolCall():
                args = json.dumps(event.arguments, ensure_ascii=False, default=str)
                self.tools.append(ToolRow(event.step_id, event.tool, event.call_id, args))
            case ev.ToolResult():
                for row in reversed(self.tools):
                    if row.call_id == event.call_id and row.tool == event.tool and row.result is None:
                        row.result, row.ok = event.result, event.ok
                        break
                else:
                    self.tools.append(ToolRow(event.step_id, event.tool, event.call_id, "", event.result,
                                              event.ok))
            case ev.ApprovalRequested():
                self.approval_step, self.approval_message = event.step_id, event.message
                self.approval_is_question, self.approval_choices = event.kind == "input", event.choices
            case ev.ApprovalResolved():
                self.approval_step = None
            case ev.BudgetExceeded():
                self.warnings.append(f"Budget '{event.limit}' exceeded: used {event.used:g} of "
                                     f"{event.limit_value:g}.")
            case ev.Warning():
                if event.message not in self.warnings:  # a resumed segment repeats its run's warnings
                    self.warnings.append(event.message)
            case ev.ArtifactWritten():
                line = f"{event.name} ({event.bytes:,} bytes, from step {event.step_id})"
                self.artifacts = [a for a in self.artifacts if not a.startswith(f"{event.name} (")] + [line]
            case ev.RunFinished():
                self.status, self.message = "finished", "Finished."
                self.output = event.output if isinstance(event.output, str) else json.dumps(
                    event.output, indent=2, ensure_ascii=False, default=str)
                self.tokens_in, self.tokens_out = max(self.tokens_in, event.tokens_in), max(
                    self.tokens_out, event.tokens_out)
                self.cost_usd = max(self.cost_usd, event.cost_usd)
            case ev.RunFailed():
                self.status = "failed"
                where = f" in step '{event.step_id}'" if event.step_id else ""
                self.message = f"Failed{where}: {event.message}"
            case ev.RunCancelled():
                self.status, self.message = "cancelled", f"Stopped ({event.reason})."
            case ev.RunInterrupted():
                if event.reason == "approval" and self.approval_step:
                    self.status, self.message = "waiting", "Waiting for your approval."
                else:
                    self.status, self.message = "interrupted", f"Interrupted ({event.reason}); resume it below."

    def apply_all(self, events: list[Any]) -> None:
        for event in events:
            self.apply(event)

    # ---- rendering -----------------------------------------------------------------------
    @property
    def current_text(self) -> str:
        """The streaming text of the newest step that has any (what the user is watching)."""
        for row in reversed(self.steps):
            if row.text:
                return row.text
        return ""

    @property
    def headline(self) -> str:
        """The run's state in words: a finished run with failed tool calls is a warning, not a success."""
        errors = self.rows.tool_errors
        if self.status == "finished" and errors:
            return f"⚠ finished with {errors} tool error{'s' * (errors != 1)}"
        return self.status

    def timeline_html(self) -> str:
        if not self.steps:
            return "<div class='gw-trace'><em>No steps yet.</em></div>"
        icons = dict(_STATUS_ICON)
        rows = []
        for row in self.steps:
            dur = "…" if row.duration_s is None else f"{row.duration_s:.2f}s"
            who = f" · {esc(row.agent)}" if row.agent else ""
            label = f" <span class='gw-label'>{esc(row.label)}</span>" if row.label else ""
            err = f"<div class='gw-err'>{esc(shorten(row.error, _ERROR_CHARS))}</div>" if row.error else ""
            note = f"<div class='gw-note'>{esc(row.note)}</div>" if row.note else ""
            tools = (f"<div class='gw-err'>{row.tool_errors} tool error{'s' * (row.tool_errors != 1)}</div>"
                     if row.tool_errors else "")
            indent = f" style='padding-left:{0.3 + 1.5 * row.depth:.1f}em'" if row.depth else ""
            rows.append(
                f"<tr data-status='{esc(row.status)}' data-depth='{row.depth}'>"
                f"<td class='gw-icon'>{icons.get(row.status, '•')}</td>"
                f"<td{indent}>{'↳ ' if row.depth else ''}<b>{esc(row.step_id)}</b>{label}<br>"
                f"<small>{esc(row.step_type)}{who}</small>{err}{tools}{note}</td>"
                f"<td>{esc(row.status)}</td><td>{dur}</td>"
                f"<td>{row.tokens_in}→{row.tokens_out}</td><td>${row.cost_usd:.4f}</td>"
                f"<td><small>{esc(row.model or '')}</small></td></tr>"
            )
        head = "<tr><th></th><th>step</th><th>status</th><th>time</th><th>tokens</th><th>cost</th><th>model</th></tr>"
        return f"<div class='gw-trace'><table>{head}{''.join(rows)}</table></div>"

    def tools_html(self) -> str:
        """Tool calls, newest 50; a failed call is shown open, so its error is in view."""
        if not self.tools:
            return ""
        items = []
        for row in self.tools[-50:]:
            mark = "…" if row.result is None else ("ok" if row.ok else "error")
            result = "" if row.result is None else f"<pre>{esc(clip(row.result, 1500))}</pre>"
            opened = " open data-failed='1'" if row.result is not None and not row.ok else ""
            items.append(f"<details{opened}><summary>tool <b>{esc(row.tool)}</b> ({esc(row.step_id or '')}) — "
                         f"{mark}</summary><pre>{esc(clip(row.arguments, 1500))}</pre>{result}</details>")
        return "<div class='gw-tools'>" + "".join(items) + "</div>"

    def status_markdown(self) -> str:
        """Status line with the running total against the budget; plain text only from the engine."""
        if self.status == "refused":  # nothing ran: only the reason, and what to do
            return f"**Not started.** {_md_text(self.message)}"
        budget = f" of ${self.budget_usd:.2f} budget" if self.budget_usd is not None else ""
        parts = [f"**{self.headline}**", f"tokens {self.tokens_in}→{self.tokens_out}",
                 f"cost ${self.cost_usd:.4f}{budget}"]
        if self.run_id:
            parts.append(f"run `{self.run_id}`")
        lines = [" · ".join(parts)]
        if self.message:
            lines.append(_md_text(self.message))
        lines.extend(f"⚠ {_md_text(w)}" for w in self.warnings[-5:])
        if self.artifacts:
            lines.append("Files written: " + "; ".join(_md_text(a) for a in self.artifacts[-10:]))
        return "\n\n".join(lines)


def _md_text(text: str) -> str:
    return safe_markdown(clip(text, 1000))
