"""The run's circuit breakers: steps, tokens and cost, checked before work starts.

Counters live here (shared by every concurrent branch of one run) so a branch sees what its
siblings spent the moment they spent it; the same numbers also flow into the checkpointed state,
from which a resumed run restores them. Before each model call the prompt is estimated (4
characters per token) so a run stops *before* a call that would cross `max_tokens`; cost is only
known afterwards, so the cost limit can be overshot by at most the calls in flight at that moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import BudgetExhausted
from schemas.models import Limits


@dataclass
class Budget:
    limits: Limits
    steps: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def start_step(self, step_id: str) -> None:
        """Count one step execution (loop iterations and map items included), or refuse it."""
        if self.steps + 1 > self.limits.max_steps:
            raise BudgetExhausted("max_steps", self.limits.max_steps, self.steps, step_id=step_id)
        self.steps += 1

    def before_call(self, messages: list[dict[str, Any]], step_id: str | None) -> None:
        """Refuse a model call when the spend so far plus this prompt would cross a limit."""
        estimate = estimate_tokens(messages)
        if self.tokens + estimate > self.limits.max_tokens:
            raise BudgetExhausted("max_tokens", self.limits.max_tokens, self.tokens, step_id=step_id)
        if self.cost_usd > 0 and self.cost_usd >= self.limits.max_cost_usd:
            raise BudgetExhausted("max_cost_usd", self.limits.max_cost_usd, round(self.cost_usd, 6),
                                  step_id=step_id)

    def add_usage(self, tokens_in: int, tokens_out: int, cost_usd: float) -> None:
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost_usd += cost_usd


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A conservative-enough prompt size without a tokenizer: characters / 4, plus framing."""
    chars = 0
    for message in messages:
        content = message.get("content")
        chars += len(content) if isinstance(content, str) else len(json.dumps(content or ""))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"]))
    return chars // 4 + 4 * len(messages)
