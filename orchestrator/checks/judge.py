"""The judge: a model asked whether an output meets a criterion written in plain words.

It answers JSON (`passed`, `reason`) through the same model seam as the engine (LiteLLM, retries,
costing), but outside any run: its tokens and cost are the check's, never added to the run's. An
answer that cannot be read, or a call that fails, is a failed verdict that says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator.checks.grade import as_text
from orchestrator.credentials import Credentials
from orchestrator.errors import OrchestratorError
from orchestrator.llm_types import LLMRequest, ModelClient, ModelParams
from schemas.models import Workflow

MAX_OUTPUT_CHARS = 20_000  # what the judge is shown of a long output
VERDICT_SCHEMA: Mapping[str, Any] = MappingProxyType({
    "type": "object",
    "properties": {"passed": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["passed", "reason"],
    "additionalProperties": False,
})
_SYSTEM = ("You grade the output of an automated workflow against one criterion. Read the criterion and "
           "the output; decide strictly whether the output meets the criterion. Answer `passed` (true or "
           "false) and `reason`: one or two sentences that say why.")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    model: str = ""
    cost_usd: float = 0.0
    tokens: int = 0


def judge_params(name: str, workflow: Workflow, credentials: Credentials, fallback: str) -> ModelParams:
    """Call parameters of the judge model `name` (an alias of the workflow, or a LiteLLM string)."""
    from orchestrator.providers import resolve_model

    spec = workflow.models.get(name)
    model = resolve_model(spec.model if spec else name, credentials, default=fallback).model
    if spec is None:
        return ModelParams(model=model)
    return ModelParams(model=model, temperature=spec.temperature, max_tokens=spec.max_tokens,
                       timeout=spec.timeout, retries=spec.retries)


async def ask_judge(client: ModelClient, params: ModelParams, criterion: str, value: Any) -> Verdict:
    """The judge's verdict on `value`; a failed call or an unreadable answer is a failed verdict."""
    text = as_text(value)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n[… cut]"
    messages = [{"role": "system", "content": _SYSTEM},
                {"role": "user", "content": f"Criterion: {criterion}\n\nOutput:\n<<<\n{text}\n>>>"}]
    try:
        result = await client.complete(LLMRequest(params=params, messages=messages, json_schema=dict(VERDICT_SCHEMA)))
    except OrchestratorError as exc:
        return Verdict(False, f"the judge could not answer: {exc}"[:500], params.model)
    spent = {"model": result.model, "cost_usd": result.cost_usd, "tokens": result.tokens_in + result.tokens_out}
    try:
        answer = json.loads(result.text.strip().removeprefix("```json").removesuffix("```").strip())
        passed, reason = answer["passed"], str(answer.get("reason", "")).strip()
        if not isinstance(passed, bool):
            raise TypeError("`passed` is not true or false")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Verdict(False, f"the judge's answer could not be read ({exc}): {result.text[:200]!r}", **spent)
    return Verdict(passed, reason[:1000] or ("meets the criterion" if passed else "does not meet it"), **spent)
