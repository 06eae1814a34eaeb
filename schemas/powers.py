"""What a change lets a workflow do that it could not before, for the user to confirm.

Trust never comes from the YAML: when the chat (or a pasted file) adds a tool, opens an HTTP host,
allows POST, or raises limits and budgets, the UI lists these lines and applies the change only
after the person agrees. Lowering powers needs no confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from schemas.models import (
    Agent,
    AgentTool,
    FunctionTool,
    HttpTool,
    InputSpec,
    Limits,
    PythonTool,
    Tool,
    Workflow,
)
from schemas.walk import all_steps

_PYTHON_LIMITS = MappingProxyType(
    {
        "timeout": "timeout (s)",
        "memory_mb": "memory (MB)",
        "cpus": "CPUs",
        "max_output_bytes": "output size (bytes)",
    }
)
_HTTP_LIMITS = MappingProxyType({"max_bytes": "response size (bytes)", "timeout": "timeout (s)"})
_RUN_LIMITS = MappingProxyType(
    {
        "max_steps": "steps per run",
        "max_tokens": "tokens per run",
        "max_cost_usd": "budget per run (USD)",
        "timeout_seconds": "run time (s)",
    }
)


def raised_powers(before: Workflow | None, after: Workflow) -> list[str]:
    """Human-readable lines, one per power `after` has beyond `before` (None: a new workflow)."""
    lines: list[str] = []
    old_tools: dict[str, Tool] = before.tools if before is not None else {}
    for name, tool in after.tools.items():
        lines += _tool_powers(name, old_tools.get(name), tool)
    old_agents: dict[str, Agent] = before.agents if before is not None else {}
    for name, agent in after.agents.items():
        had = set(old_agents[name].tools) if name in old_agents else set()
        for tool in agent.tools:
            if tool not in had and tool in after.tools:
                lines.append(f"agent `{name}` may now use tool `{tool}`")
        old_calls = (
            old_agents[name].max_tool_calls
            if name in old_agents
            else Agent.model_fields["max_tool_calls"].default
        )
        if agent.max_tool_calls > old_calls:
            lines.append(f"agent `{name}`: tool calls per step {old_calls} → {agent.max_tool_calls}")
    lines += _file_powers(before, after)
    old_limits = before.limits if before is not None else Limits()
    lines += _raised(old_limits, after.limits, _RUN_LIMITS, "run limit")
    return lines


def _file_powers(before: Workflow | None, after: Workflow) -> list[str]:
    """Files written into the run's folder, larger file inputs, and extra summary models."""
    def written(wf: Workflow | None) -> set[str]:
        return {s.artifact.name for s in all_steps(wf) if s.artifact} if wf is not None else set()

    lines = [f"a step writes the file `{n}` into the run's folder" for n in sorted(written(after) - written(before))]
    default = InputSpec.model_fields["max_bytes"].default
    for name, spec in after.inputs.items():
        old = before.inputs.get(name) if before is not None else None
        was = old.max_bytes if old is not None and old.type == "file" else default
        if spec.type == "file" and spec.max_bytes > was:
            lines.append(f"file input `{name}`: size cap {was:,} → {spec.max_bytes:,} bytes")
    for name, agent in after.agents.items():
        old_agent = before.agents.get(name) if before is not None else None
        if agent.on_overflow == "summarise" and (old_agent is None or old_agent.summary_model != agent.summary_model):
            lines.append(f"agent `{name}` may call `{agent.summary_model}` to summarise long inputs")
    return lines


def _tool_powers(name: str, old: Tool | None, new: Tool) -> list[str]:
    if isinstance(new, PythonTool):
        if not isinstance(old, PythonTool):
            return [f"new python tool `{name}`: runs code written by the model in a Docker sandbox"]
        lines = _raised(old, new, _PYTHON_LIMITS, f"python tool `{name}`")
        if new.image != old.image:
            lines.append(f"python tool `{name}` runs in image `{new.image or 'default'}`")
        return lines
    if isinstance(new, HttpTool):
        if not isinstance(old, HttpTool):
            hosts = ", ".join(f"`{pattern}`" for pattern in new.allow)
            return [f"new http tool `{name}` ({'/'.join(new.methods)}) may fetch {hosts}",
                    *_secret_powers(name, None, new)]
        lines = [f"http tool `{name}` may now fetch `{p}`" for p in new.allow if p not in old.allow]
        lines += [
            f"http tool `{name}` may now send {m} requests" for m in new.methods if m not in old.methods
        ]
        return lines + _secret_powers(name, old, new) + _raised(old, new, _HTTP_LIMITS, f"http tool `{name}`")
    if isinstance(new, FunctionTool):
        if not isinstance(old, FunctionTool) or old.function != new.function:
            return [f"new function tool `{name}`: runs the installed Python function `{new.function}` "
                    "in the app's own process"]
        return [f"function tool `{name}`: timeout (s) {old.timeout:g} → {new.timeout:g}"] if new.timeout > old.timeout else []
    assert isinstance(new, AgentTool)
    if not isinstance(old, AgentTool) or old.agent != new.agent:
        return [f"new agent tool `{name}`: calls agent `{new.agent}`"]
    return []


def _secret_powers(name: str, old: HttpTool | None, new: HttpTool) -> list[str]:
    """Sending a named secret (from the environment or Settings) to a host is a power of its own."""
    lines = []
    for secret, hosts in new.secrets.items():
        had = set(old.secrets.get(secret, [])) if old is not None else set()
        added = [h for h in hosts if h not in had]
        if added:
            lines.append(f"http tool `{name}` may send your secret `{secret}` to {', '.join(f'`{h}`' for h in added)}")
    return lines


def _raised(old: object, new: object, fields: Mapping[str, str], what: str) -> list[str]:
    lines = []
    for field, label in fields.items():
        before, after = getattr(old, field), getattr(new, field)
        if after > before:
            lines.append(f"{what}: {label} {before:g} → {after:g}")
    return lines
