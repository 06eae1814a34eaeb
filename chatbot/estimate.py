"""Tokens and dollars per run, estimated from the config before anything runs.

The estimate walks the steps: each agent call costs its prompt (role, goal, instructions, the
prompt template and the values it reads) plus an assumed answer length, priced with the model's
entry in LiteLLM's price map. Loops, maps and delegations give two numbers: *expected* (a typical
run) and *worst case* (every loop at its maximum). Every assumption is stated with the result, and
unpriced models are named rather than silently counted as free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from chatbot.prices import price_of
from schemas.models import (
    Agent,
    AgentStep,
    ApprovalStep,
    LoopStep,
    MapStep,
    ParallelStep,
    RouteStep,
    SupervisorStep,
    Workflow,
)
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


def estimate_cost(workflow: Workflow, *, default_model: str) -> Estimate:
    """Estimate tokens and USD per run of `workflow`; agents without a model use `default_model`."""
    walker = _Walker(workflow, default_model)
    expected, worst = walker.steps(workflow.steps)
    models = sorted(set(expected.by_model) | set(worst.by_model))
    unpriced = [m for m in models if not price_of(m).known]
    limits, warnings = workflow.limits, []
    if worst.tokens > limits.max_tokens:
        warnings.append(f"the worst case exceeds `limits.max_tokens` ({limits.max_tokens:,}); such a run stops early")
    if worst.cost() > limits.max_cost_usd:
        warnings.append(f"the worst case exceeds `limits.max_cost_usd` (${limits.max_cost_usd}); such a run stops early")
    steps = _worst_steps(workflow.steps)
    if steps > limits.max_steps:
        warnings.append(f"the worst case runs {steps} steps, above `limits.max_steps` ({limits.max_steps})")
    return Estimate(expected, worst, unpriced, list(ASSUMPTIONS), warnings)


class _Walker:
    """Walks the step tree once, adding each call to the expected and worst-case tallies."""

    def __init__(self, workflow: Workflow, default_model: str) -> None:
        self.wf = workflow
        self.default_model = default_model

    def model_of(self, name: str | None) -> tuple[str, int]:
        """The LiteLLM model string behind an alias (or name) and the answer length it allows."""
        name = name or self.wf.default_model or self.default_model
        spec = self.wf.models.get(name)
        if spec is None:
            return name, ANSWER_TOKENS
        return spec.model, min(ANSWER_TOKENS, spec.max_tokens or ANSWER_TOKENS)

    def steps(self, steps: list) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        for step in steps:
            exp, wst = self.step(step)
            expected.add(exp)
            worst.add(wst)
        return expected, worst

    def step(self, step: object) -> tuple[Usage, Usage]:
        match step:
            case AgentStep():
                return self.agent_call(self.wf.agents.get(step.agent), step.prompt)
            case ParallelStep():
                return self.steps(step.branches)
            case MapStep():
                exp, wst = self.agent_call(self.wf.agents.get(step.step.agent), step.step.prompt)
                return _times(exp, min(EXPECTED_ITEMS, step.max_items)), _times(wst, step.max_items)
            case LoopStep():
                exp, wst = self.steps(step.steps)
                return _times(exp, min(EXPECTED_ITERATIONS, step.max_iterations)), _times(wst, step.max_iterations)
            case RouteStep():
                return self.route(step)
            case SupervisorStep():
                return self.supervisor(step)
            case ApprovalStep():
                return Usage(), Usage()
        return Usage(), Usage()

    def agent_call(self, agent: Agent | None, prompt: str) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        if agent is None:
            return expected, worst
        model, answer = self.model_of(agent.model)
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

    def route(self, step: RouteStep) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        if step.classify is not None:
            model, _ = self.model_of(step.classify.model)
            tokens_in = FRAMING_TOKENS + _prompt_tokens(step.classify.prompt) + 10 * len(step.cases)
            expected.call(model, tokens_in, 5)
            worst.call(model, tokens_in, 5)
        branches = [self.steps(case.steps) for case in step.cases] + [self.steps(step.default)]
        for exp, _ in branches:
            expected.add(exp, 1 / len(branches))
        worst.add(max((w for _, w in branches), key=lambda u: u.tokens))
        return expected, worst

    def supervisor(self, step: SupervisorStep) -> tuple[Usage, Usage]:
        expected, worst = Usage(), Usage()
        manager = self.wf.agents.get(step.manager)
        workers = [self.wf.agents.get(w) for w in step.workers]
        for usage, rounds in ((expected, min(EXPECTED_DELEGATIONS, step.max_delegations)),
                              (worst, step.max_delegations)):
            for k in range(rounds + 1):
                exp, _ = self.agent_call(manager, step.task + "x" * (4 * ANSWER_TOKENS * k))
                usage.add(exp)
            for k in range(rounds):
                exp, _ = self.agent_call(workers[k % len(workers)], step.task)
                usage.add(exp)
        return expected, worst


def _worst_steps(steps: list) -> int:
    """Step executions when every loop, map and delegation reaches its maximum."""
    total = 0
    for step in steps:
        match step:
            case ParallelStep():
                total += 1 + _worst_steps(step.branches)
            case MapStep():
                total += 1 + step.max_items
            case LoopStep():
                total += 1 + step.max_iterations * _worst_steps(step.steps)
            case RouteStep():
                total += 1 + max(_worst_steps(s) for s in [c.steps for c in step.cases] + [step.default])
            case SupervisorStep():
                total += 1 + step.max_delegations
            case _:
                total += 1
    return total


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
