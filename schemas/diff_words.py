"""The words of a plain-language config diff: what each field is called, and how values read.

Every field of every model in the config tree has a name: here (`NOUNS`) for the workflow,
inputs, models, agents, tools and limits, and in each step kind's module (`diff_words`) for the
kinds, so a kind still lives in one module. A test walks the models and fails when a field has
none, so a field added to the format is described in words, never as a raw key.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

MAX_SHOWN = 60  # longer text is said to have changed, not quoted

# (owner class name, field) first, then the bare field name.
NOUNS = MappingProxyType({
    # workflow
    "Workflow.version": "the format version", "Workflow.name": "the name",
    "Workflow.description": "the description", "Workflow.default_model": "the default model",
    "Workflow.inputs": "the inputs", "Workflow.models": "the model aliases", "Workflow.agents": "the agents",
    "Workflow.tools": "the tools", "Workflow.steps": "the steps", "Workflow.limits": "the run limits",
    "Workflow.checks": "the checks",
    # inputs
    "InputSpec.type": "its type", "InputSpec.format": "its file format", "InputSpec.max_bytes": "its size cap (bytes)",
    "InputSpec.description": "its description", "InputSpec.default": "its default",
    # model aliases
    "ModelSpec.model": "the model it calls", "ModelSpec.temperature": "its temperature",
    "ModelSpec.max_tokens": "its answer cap (max_tokens)", "ModelSpec.timeout": "its call timeout (s)",
    "ModelSpec.retries": "its retries", "ModelSpec.fallbacks": "its fallbacks",
    "ModelSpec.context_window": "its context window (tokens)",
    # agents
    "Agent.role": "the role", "Agent.goal": "the goal", "Agent.instructions": "the instructions",
    "Agent.instructions_file": "the instructions file", "Agent.model": "the model", "Agent.tools": "the tools",
    "Agent.output": "the structured output", "Agent.max_tool_calls": "the tool calls allowed per step",
    "Agent.on_overflow": "what happens when a prompt overflows", "Agent.summary_model": "the summary model",
    # output fields
    "OutputField.type": "the type", "OutputField.description": "the description",
    "OutputField.enum": "the allowed values", "OutputField.items": "the item type",
    "OutputField.fields": "the fields", "OutputField.optional": "whether it may be left out",
    # tools
    "HttpTool.type": "the kind", "HttpTool.description": "the description", "HttpTool.allow": "the allowed URLs",
    "HttpTool.methods": "the HTTP methods", "HttpTool.max_bytes": "the response size cap (bytes)",
    "HttpTool.timeout": "the request timeout (s)", "HttpTool.url": "the URL", "HttpTool.params": "the parameters",
    "HttpTool.headers": "the headers", "HttpTool.query": "the fixed query", "HttpTool.body": "the JSON body",
    "HttpTool.secrets": "the secrets",
    "HttpParam.type": "the type", "HttpParam.description": "the description", "HttpParam.required": "whether it is required",
    "HttpParam.enum": "the allowed values",
    "PythonTool.type": "the kind", "PythonTool.description": "the description", "PythonTool.image": "the Docker image",
    "PythonTool.timeout": "the time limit (s)", "PythonTool.memory_mb": "the memory limit (MB)",
    "PythonTool.cpus": "the CPU limit", "PythonTool.max_output_bytes": "the output cap (bytes)",
    "AgentTool.type": "the kind", "AgentTool.agent": "the agent that answers", "AgentTool.description": "the description",
    "FunctionTool.type": "the kind", "FunctionTool.function": "the function", "FunctionTool.description": "the description",
    "FunctionTool.timeout": "the time limit (s)",
    # limits
    "Limits.max_steps": "the step limit per run", "Limits.max_tokens": "the token limit per run",
    "Limits.max_cost_usd": "the budget per run (USD)", "Limits.timeout_seconds": "the time limit per run (s)",
    # every step
    "id": "the id", "type": "the kind", "description": "the description", "retry": "the retries",
    "timeout_seconds": "the time limit per attempt (s)", "artifact": "the file it writes",
    "Retry.attempts": "the attempts", "Retry.backoff_seconds": "the wait before retrying (s)",
    "Artifact.name": "the file name", "Artifact.format": "the file format",
})  # fmt: skip


def words_for(model: type, field: str) -> str | None:
    """The name of `model`'s `field` in a sentence: a step kind's own `diff_words` (in its module
    under `schemas/steps/`), else this table; None when nobody named it."""
    own = getattr(model, "diff_words", {})
    return own.get(field) or NOUNS.get(f"{model.__name__}.{field}") or NOUNS.get(field)


def noun(model: type, field: str) -> str:
    return words_for(model, field) or f"`{field}`"


def show(value: Any) -> str:
    """A value as it reads in a sentence: short text quoted, nothing as "not set"."""
    if value is None or value == [] or value == {}:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(show(v) for v in value)
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return f"`{text}`" if len(text) <= MAX_SHOWN else f"`{text[:MAX_SHOWN - 1]}…`"


def is_long(old: Any, new: Any) -> bool:
    """Text too long to quote both sides: the sentence just says it changed."""
    return any(isinstance(v, str) and len(" ".join(v.split())) > MAX_SHOWN for v in (old, new))


def kind_name(step_type: str) -> str:
    return {"agent": "an agent", "approval": "an approval", "ask": "a question", "end": "an end",
            "loop": "a loop", "map": "a map", "parallel": "a parallel", "route": "a route",
            "supervisor": "a supervisor", "transform": "a transform"}.get(step_type, f"a {step_type}") + " step"
