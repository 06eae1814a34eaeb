"""Tokens and dollars per run, estimated from the config before anything runs.

The estimate walks the steps: each agent call costs its prompt (role, goal, instructions, the
prompt template and the values it reads) plus an assumed answer length, priced with the model's
entry in LiteLLM's price map. Loops, maps and delegations give two numbers: *expected* (a typical
run) and *worst case* (every loop at its maximum). Every assumption is stated with the result, and
unpriced models are named rather than silently counted as free.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from chatbot.prices import price_of
from schemas.models import Agent, Step, Workflow
from schemas.steps import max_executions
from schemas.templates import TEMPLATE_RE

ANSWER_TOKENS = 400  # an agent's answer
VALUE_TOKENS = 100  # a run input or a map item read by a prompt
FRAMING_TOKENS = 120  # the engine's system framing per call
TOOL_RESULT_TOKENS = 300  # what one tool call adds to the next model call
EXPECTED_ITERATIONS = 2
EXPECTED_ITEMS = 5
EXPECTED_DELEGATIONS = 3
ASSUMPTIONS = (
    f"≈4 characters per token; each answer ≈{ANSWER_TOKENS} tokens (less when a model caps `max_tokens`)",
    f"each run input or list item read by a prompt ≈{VALUE_TOKENS} tokens",
    f"an agent with tools makes 1 tool call in a typical run and all `max_tool_calls` in the worst "
    f"case (≈{TOOL_RESULT_TOKENS} tokens per result)",
    f"expected: loops run {EXPECTED_ITERATIONS} iterations, maps see {EXPECTED_ITEMS} items, a "
    f"supervisor delegates {EXPECTED_DELEGATIONS} times, a route takes an average branch; worst "
    "case: every maximum is reached and the largest branch is taken",
)


@dataclass
class Usage:
    """Calls and tokens per model for one scenario."""

    by_model: dict[str, list[int]] = field(default_factory=dict)  # model -> [calls, in, out]

    def call(self, model: str, tokens_in: int, tokens_out: int, times: int = 1) -> None:
        row = self.by_model.setdefault(model, [0, 0, 0])
        row[0] += times
        row[1] += tokens_in * times
        row[2] += tokens_out * times

    def add(self, other: Usage, times: float = 1.0) -> None:
        for model, (calls, tin, tout) in other.by_model.items():
            row = self.by_model.setdefault(model, [0, 0, 0])
            row[0] += round(calls * times)
            row[1] += round(tin * times)
            row[2] += round(tout * times)

    @property
    def calls(self) -> int:
        return sum(row[0] for row in self.by_model.values())

    @property
    def tokens(self) -> int:
        return sum(row[1] + row[2] for row in self.by_model.values())

    def cost(self) -> float:
        return sum(price_of(m).input * r[1] + price_of(m).output * r[2] for m, r in self.by_model.items())


@dataclass
class Estimate:
    """The estimate of one run, expected and worst case, with the assumptions behind it."""

    expected: Usage
    worst: Usage
    unpriced: list[str]
    assumptions: list[str]
    warnings: list[str]

    @property
    def tokens(self) -> int:
        return self.expected.tokens

    @property
    def cost_usd(self) -> float:
        return self.expected.cost()

    @property
    def worst_tokens(self) -> int:
        return self.worst.tokens

    @property
    def worst_cost_usd(self) -> float:
        return self.worst.cost()

    def to_markdown(self) -> str:
        free = self.worst_cost_usd == 0 and not self.unpriced
        cost = "$0 (local or offline models are free)" if free else f"≈${self.cost_usd:.4f}"
        lines = [
            f"**Estimate per run:** ≈{self.tokens:,} tokens in {self.expected.calls} model calls, "
            f"{cost} (worst case ≈{self.worst_tokens:,} tokens, ${self.worst_cost_usd:.4f}).",
        ]
        if self.unpriced:
            lines.append(f"Unpriced models (counted as $0): {', '.join(f'`{m}`' for m in self.unpriced)}.")
        lines += [f"⚠ {w}" for w in self.warnings]
        lines.append("Assumptions: " + "; ".join(self.assumptions) + ".")
        return "\n".join(lines)


def estimate_cost(workflow: Workflow, *, default_model: str, override: str | None = None) -> Estimate:
    """Estimate tokens and USD per run of `workflow`; agents without a model use `default_model`.

    `override` is a run's model override (`--model`): it replaces every model the config names.
    """
    walker = _Walker(workflow, default_model, override)
    expected, worst = walker.steps(workflow.steps)
    models = sorted(set(expected.by_model) | set(worst.by_model))
    unpriced = [m for m in models if not price_of(m).known]
    limits, warnings = workflow.limits, []
    if worst.tokens > limits.max_tokens:
        warnings.append(f"the worst case exceeds `limits.max_tokens` ({limits.max_tokens:,}); such a run stops early")
    if worst.cost() > limits.max_cost_usd:
        warnings.append(f"the worst case exceeds `limits.max_cost_usd` (${limits.max_cost_usd}); such a run stops early")
    warnings += walker.overflows
    steps = max_executions(workflow.steps)
    if steps > limits.max_steps:
        warnings.append(f"the worst case runs {steps} steps, above `limits.max_steps` ({limits.max_steps})")
    return Estimate(expected, worst, unpriced, list(ASSUMPTIONS), warnings)


class _Walker:
    """Walks the step tree once, adding each call to the expected and worst-case tallies.

    Each step kind states its own calls (`estimate` in `schemas/steps/<kind>.py`) through this
    walker's methods (the `schemas.steps.base.Estimator` protocol).
    """

    answer_tokens = ANSWER_TOKENS
    _EXPECTED = MappingProxyType(
        {"iterations": EXPECTED_ITERATIONS, "items": EXPECTED_ITEMS, "delegations": EXPECTED_DELEGATIONS}
    )

    def __init__(self, workflow: Workflow, default_model: str, override: str | None = None) -> None:
        self.wf = workflow
        self.default_model = default_model
        self.override = override
        self.overflows: list[str] = []  # steps whose worst-case prompt may outgrow the model's window

    def model_of(self, name: str | None) -> tuple[str, int]:
        """The LiteLLM model string behind an alias (or name) and the answer length it allows."""
        name = name or self.wf.default_model or self.default_model
        spec = self.wf.models.get(name)
        if self.override is not None:
            return self.override, min(ANSWER_TOKENS, (spec.max_tokens if spec else None) or ANSWER_TOKENS)
        if spec is None:
            return name, ANSWER_TOKENS
        return spec.model, min(ANSWER_TOKENS, spec.max_tokens or ANSWER_TOKENS)

    def none(self) -> tuple[Usage, Usage]:
        return Usage(), Usage()

    def steps(self, steps: Sequence[Step]) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        for step in steps:
            agent, prompt = getattr(step, "agent", None), getattr(step, "prompt", None)
            if isinstance(agent, str) and isinstance(prompt, str):
                self.check_window(step.id, agent, prompt)
            exp, wst = step.estimate(self)
            if step.retry is not None:  # the worst case pays for every attempt
                wst = _times(wst, step.retry.attempts)
            expected.add(exp)
            worst.add(wst)
        return expected, worst

    def expected(self, what: str, most: int) -> int:
        return min(self._EXPECTED[what], most)

    def repeat(self, usage: tuple[Usage, Usage], what: str, most: int) -> tuple[Usage, Usage]:
        return _times(usage[0], self.expected(what, most)), _times(usage[1], most)

    def one_of(self, branches: list[tuple[Usage, Usage]]) -> tuple[Usage, Usage]:
        """One branch is taken: an average one expected, the largest in the worst case."""
        expected, worst = Usage(), Usage()
        for exp, _ in branches:
            expected.add(exp, 1 / len(branches))
        worst.add(max((w for _, w in branches), key=lambda u: u.tokens))
        return expected, worst

    def total(self, parts: list[Usage]) -> Usage:
        out = Usage()
        for part in parts:
            out.add(part)
        return out

    def model_call(self, model: str | None, prompt: str, extra_tokens: int, answer_tokens: int) -> tuple[Usage, Usage]:
        """One call of a model (not through an agent), e.g. a route's classifier."""
        expected, worst = Usage(), Usage()
        name, _ = self.model_of(model)
        tokens_in = FRAMING_TOKENS + _prompt_tokens(prompt) + extra_tokens
        expected.call(name, tokens_in, answer_tokens)
        worst.call(name, tokens_in, answer_tokens)
        return expected, worst

    def agent(self, name: str | None, prompt: str, settings: dict[str, Any] | None = None) -> tuple[Usage, Usage]:
        """An agent's calls; a step's own `settings` (model, output, max_tokens) override the agent's."""
        agent = self.wf.agents.get(name) if name else None
        settings = settings or {}
        if agent is not None and settings:
            agent = agent.model_copy(update={k: v for k, v in settings.items() if k in ("model", "output")})
        return self.agent_call(agent, prompt, settings.get("max_tokens"))

    def agent_call(self, agent: Agent | None, prompt: str, max_tokens: int | None = None) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        if agent is None:
            return expected, worst
        model, answer = self.model_of(agent.model)
        answer = min(answer, max_tokens or answer)
        tokens_in = FRAMING_TOKENS + _prompt_tokens(agent.role + agent.goal + agent.instructions + prompt)
        if agent.output:
            tokens_in += len(json.dumps({k: v.model_dump() for k, v in agent.output.items()})) // 4
        expected.call(model, tokens_in, answer)
        worst.call(model, tokens_in, answer)
        if agent.tools:
            expected.call(model, tokens_in + TOOL_RESULT_TOKENS, answer)
            for k in range(1, agent.max_tool_calls + 1):
                worst.call(model, tokens_in + k * TOOL_RESULT_TOKENS, answer)
        return expected, worst

    def check_window(self, step_id: str, agent_name: str, prompt: str) -> None:
        """Warn when the step's largest plausible prompt (files at their size cap) may overflow."""
        from orchestrator.offline_model import CONTEXT_WINDOW, is_offline

        agent = self.wf.agents.get(agent_name)
        if agent is None:
            return
        model, _ = self.model_of(agent.model)
        spec = self.wf.models.get(agent.model or self.wf.default_model or "")
        # The window from the alias, the offline model or LiteLLM's bundled map read as JSON
        # (importing LiteLLM for this costs seconds, on the CLI too).
        window = (spec.context_window if spec and spec.context_window else None) or (
            CONTEXT_WINDOW if is_offline(model) else price_of(model).context_window)
        tokens = FRAMING_TOKENS + _prompt_tokens(agent.role + agent.goal + agent.instructions + prompt)
        for match in TEMPLATE_RE.finditer(prompt):
            path = match.group(1).strip().split(".")
            spec_in = self.wf.inputs.get(path[1]) if path[0] == "inputs" and len(path) > 1 else None
            if spec_in is not None and spec_in.type == "file":
                tokens += spec_in.max_bytes // 4 - VALUE_TOKENS
        if window is None or tokens <= window:
            return
        handled = {"fail": "the step fails", "cut_middle": "the middle of its longest inputs is cut",
                   "summarise": f"its longest inputs are summarised with `{agent.summary_model}`"}
        self.overflows.append(
            f"step `{step_id}` may overflow `{model}`'s context window ({window:,} tokens): its prompt "
            f"can reach ≈{tokens:,} tokens (a file input at its size cap); then {handled[agent.on_overflow]}"
            + (" — set `on_overflow` on the agent or lower the input's `max_bytes`" if agent.on_overflow == "fail" else ""))


def _times(usage: Usage, n: int) -> Usage:
    out = Usage()
    out.add(usage, n)
    return out


def _prompt_tokens(text: str) -> int:
    """Template text at ~4 characters per token, plus an assumed size for every value it reads."""
    tokens = len(TEMPLATE_RE.sub("", text)) // 4
    for match in TEMPLATE_RE.finditer(text):
        path = match.group(1).strip()
        tokens += ANSWER_TOKENS if path.startswith("steps.") else VALUE_TOKENS
    return tokens
