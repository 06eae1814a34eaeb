"""A change to a workflow in plain words, with what it does to the estimated cost of one run.

Shared by the chat (after every change to the draft), the Design tab (draft against an earlier
version from history) and `graphwright diff` (two files): the words come from
`schemas.config_diff`, the money from `chatbot.estimate` for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.estimate import Estimate, estimate_cost
from schemas.config_diff import ConfigDiff, diff_workflows
from schemas.models import Workflow


@dataclass(frozen=True)
class CostChange:
    """The estimate per run before and after: expected and worst case, in USD and tokens."""

    before: Estimate
    after: Estimate

    def sentence(self) -> str:
        b, a = self.before, self.after
        if b.worst_cost_usd == a.worst_cost_usd == 0 and not (b.unpriced or a.unpriced):
            tokens = _delta(b.tokens, a.tokens, "{:,.0f}")
            return f"Estimated cost per run: $0 before and after (free models); tokens per run {tokens}."
        text = (f"Estimated cost per run: expected {_delta(b.cost_usd, a.cost_usd, '${:.4f}')}, "
                f"worst case {_delta(b.worst_cost_usd, a.worst_cost_usd, '${:.4f}')}.")
        unpriced = sorted(set(a.unpriced) - set(b.unpriced))
        if unpriced:
            text += " Unpriced now (counted as $0): " + ", ".join(f"`{m}`" for m in unpriced) + "."
        return text


@dataclass(frozen=True)
class PlainDiff:
    diff: ConfigDiff
    cost: CostChange

    def to_text(self) -> str:
        """Plain text for the terminal and the chat: one change per line, then the cost line."""
        return f"{self.diff.to_text()}\n\n{self.cost.sentence()}"

    def to_markdown(self) -> str:
        return f"**What changed, in plain words**\n\n{self.to_text()}"


def plain_diff(before: Workflow, after: Workflow, *, default_model: str) -> PlainDiff:
    """The change from `before` to `after`; `default_model` prices agents without a model of their own."""
    return PlainDiff(diff_workflows(before, after),
                     CostChange(estimate_cost(before, default_model=default_model),
                                estimate_cost(after, default_model=default_model)))


def _delta(old: float, new: float, fmt: str) -> str:
    if old == new:
        return f"{fmt.format(new)} (unchanged)"
    pct = f", {(new - old) / old * 100:+.0f}%" if old else ""
    return f"{fmt.format(old)} → {fmt.format(new)} ({'+' if new > old else '−'}{fmt.format(abs(new - old))}{pct})"
