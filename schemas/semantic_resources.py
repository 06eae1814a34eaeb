"""Checks of the named resources: agents' tools, agent tools, model names and aliases, inputs."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from schemas.files import file_issues
from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.model_catalog import is_known_model, model_hint
from schemas.models import AgentTool, PythonTool, Workflow
from schemas.semantic_tools import tool_issues
from schemas.suggest import did_you_mean
from schemas.walk import iter_steps, min_executions

INPUT_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        "string": (str,),
        "text": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
        "list": (list,),
        "file": (str,),  # a default file's text
    }
)


def resource_issues(
    wf: Workflow,
    loc: Locator,
    agents_used: set[str],
    inputs_read: set[str],
    sandbox_available: bool | None,
) -> list[Issue]:
    issues: list[Issue] = []
    issues += _agent_issues(wf, loc, agents_used)
    issues += _tool_issues(wf, loc, sandbox_available)
    issues += tool_issues(wf, loc)
    issues += _model_issues(wf, loc)
    issues += _input_issues(wf, loc, inputs_read)
    issues += file_issues(wf, loc)
    needed = min_executions(wf.steps)
    if needed > wf.limits.max_steps:
        issues.append(
            loc.issue(
                ("limits", "max_steps") if ("limits",) in loc.doc.keys else ("steps",),
                f"every run needs at least {needed} step executions but `limits.max_steps` is "
                f"{wf.limits.max_steps}, so runs stop early",
                f"set `limits.max_steps` to {needed} or more",
                severity="warning",
                at="key",
            )
        )
    return issues


def _agent_issues(wf: Workflow, loc: Locator, agents_used: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    tools_used: set[str] = set()
    for name, agent in wf.agents.items():
        for index, tool in enumerate(agent.tools):
            where = ("agents", name, "tools", index)
            tools_used.add(tool)
            if tool not in wf.tools:
                fix = did_you_mean(tool, wf.tools) or "declare it under `tools`"
                issues.append(loc.issue(where, f"agent `{name}` uses unknown tool `{tool}`", fix))
            elif isinstance(wf.tools[tool], AgentTool) and wf.tools[tool].agent == name:
                issues.append(loc.issue(where, f"agent `{name}` cannot call itself through tool `{tool}`"))
            if tool in agent.tools[:index]:
                issues.append(loc.issue(where, f"tool `{tool}` is listed twice", severity="warning"))
        for field, spec in (agent.output or {}).items():
            if spec.enum is not None and spec.type != "string":
                issues.append(
                    loc.issue(
                        ("agents", name, "output", field, "enum"), "`enum` only applies to `type: string`"
                    )
                )
    for name, tool in wf.tools.items():
        if isinstance(tool, AgentTool):
            agents_used.add(tool.agent)
            if tool.agent not in wf.agents:
                fix = did_you_mean(tool.agent, wf.agents) or "declare it under `agents`"
                issues.append(
                    loc.issue(
                        ("tools", name, "agent"), f"tool `{name}` names unknown agent `{tool.agent}`", fix
                    )
                )
        if name not in tools_used:
            issues.append(
                loc.issue(
                    ("tools", name), f"tool `{name}` is not used by any agent", severity="warning", at="key"
                )
            )
    for name in wf.agents:
        if name not in agents_used:
            issues.append(
                loc.issue(("agents", name), f"agent `{name}` is never used", severity="warning", at="key")
            )
    return issues


def _tool_issues(wf: Workflow, loc: Locator, sandbox_available: bool | None) -> list[Issue]:
    issues: list[Issue] = []
    for name, tool in wf.tools.items():
        if isinstance(tool, PythonTool) and sandbox_available is False:
            issues.append(
                loc.issue(
                    ("tools", name, "type"),
                    f"python tools cannot run here (no Docker daemon): tool `{name}` will fail when called",
                    "run graphwright where Docker is available",
                    severity="warning",
                )
            )
    return issues


def _model_refs(wf: Workflow) -> list[tuple[str, Path, bool]]:
    """(name, path, may be an alias) for every model name in the workflow."""
    refs: list[tuple[str, Path, bool]] = []
    if wf.default_model:
        refs.append((wf.default_model, ("default_model",), True))
    for alias, spec in wf.models.items():
        refs.append((spec.model, ("models", alias, "model"), False))
        refs += [(f, ("models", alias, "fallbacks", i), True) for i, f in enumerate(spec.fallbacks)]
    refs += [(a.model, ("agents", n, "model"), True) for n, a in wf.agents.items() if a.model]
    refs += [(a.summary_model, ("agents", n, "summary_model"), True) for n, a in wf.agents.items()
             if a.summary_model]
    for step, path in iter_steps(wf.steps):
        refs += [(name, (*path, *where), True) for where, name in step.models_named() if name]
    refs += [(e.model, ("checks", c, "expect", i, "model"), True) for c, check in enumerate(wf.checks)
             for i, e in enumerate(check.expect) if e.model]
    return refs


def _model_issues(wf: Workflow, loc: Locator) -> list[Issue]:
    issues: list[Issue] = []
    for name, where, alias_ok in _model_refs(wf):
        if alias_ok and name in wf.models:
            continue
        if is_known_model(name):
            continue
        if "/" not in name and alias_ok:
            fix = (
                did_you_mean(name, wf.models)
                or model_hint(name)
                or "add it under `models` or write `provider/model`"
            )
            message = f"model `{name}` is neither an alias under `models` nor a model LiteLLM knows"
        else:
            fix = model_hint(name) or "check the spelling; costs of unknown models show as 0"
            message = f"model `{name}` is not in LiteLLM's model list"
        issues.append(loc.issue(where, message, fix, severity="warning"))
    for alias in wf.models:
        cycle = _fallback_cycle(wf, alias)
        if cycle:
            issues.append(
                loc.issue(("models", alias, "fallbacks"), "fallbacks loop back: " + " -> ".join(cycle))
            )
    return issues


def _fallback_cycle(wf: Workflow, start: str) -> list[str] | None:
    """A path of aliases from `start` back to itself through fallbacks, if any."""
    stack: list[list[str]] = [[start]]
    while stack:
        trail = stack.pop()
        for nxt in wf.models[trail[-1]].fallbacks:
            if nxt == start:
                return [*trail, nxt]
            if nxt in wf.models and nxt not in trail:
                stack.append([*trail, nxt])
    return None


def _input_issues(wf: Workflow, loc: Locator, inputs_read: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    for name, spec in wf.inputs.items():
        default = spec.default
        if default is not None:
            types = INPUT_TYPES[spec.type]
            wrong_bool = isinstance(default, bool) and spec.type in ("integer", "number")
            if not isinstance(default, types) or wrong_bool:
                issues.append(
                    loc.issue(("inputs", name, "default"), f"default of input `{name}` is not a {spec.type}")
                )
        if name not in inputs_read:
            issues.append(
                loc.issue(("inputs", name), f"input `{name}` is never read", severity="warning", at="key")
            )
    return issues
