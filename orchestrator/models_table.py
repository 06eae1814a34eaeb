"""Turn the model names a workflow uses into call parameters, substituting unusable providers.

Each distinct LiteLLM model string goes through `providers.resolve_model` exactly once per run;
a substitution (no key → Ollama or the offline model) is announced by one `Warning` event, so the
offline model is never chosen silently.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.credentials import Credentials
from orchestrator.llm_types import ModelParams
from orchestrator.nodes.common import ModelTable
from schemas.models import Workflow
from schemas.walk import all_steps


def used_model_names(workflow: Workflow, default: str) -> list[str]:
    """The model names a run may call: the agents' and steps' own (a route's classifier), and
    `default` when one of them names none."""
    named = [agent.model for agent in workflow.agents.values()]
    named += [name for step in all_steps(workflow) for _, name in step.models_named()]
    names = [default] if None in named else []
    summarisers = [agent.summary_model for agent in workflow.agents.values() if agent.on_overflow == "summarise"]
    return list(dict.fromkeys([*names, *(n for n in named if n), *(n for n in summarisers if n)]))


def build_model_table(workflow: Workflow, default: str, credentials: Credentials, fallback_model: str,
                      warn: Callable[[str], None], override: str | None = None) -> ModelTable:
    """Resolve every model name used by `workflow` (aliases with their fallbacks included).

    `override` (the run's `--model` / Model override) replaces every model the config names, the
    agents' own included, and the trace says so once.
    """
    from orchestrator.offline_model import is_offline
    from orchestrator.providers import resolve_model

    resolved: dict[str, str] = {}
    substituted_to: set[str] = set()  # models already announced by a substitution warning
    announce = True  # off for models resolved for completeness only (no step calls them)

    def real(model: str) -> str:
        if model not in resolved:
            resolution = resolve_model(model, credentials, default=fallback_model)
            resolved[model] = resolution.model
            if resolution.substituted and announce:
                substituted_to.add(resolution.model)
                warn(resolution.reason)
        return resolved[model]

    def params(name: str, depth: int = 0) -> ModelParams:
        if override is not None:
            spec = workflow.models.get(name)
            return ModelParams(model=real(override), temperature=spec.temperature if spec else None,
                               max_tokens=spec.max_tokens if spec else None)
        spec = workflow.models.get(name)
        if spec is None:
            return ModelParams(model=real(name))
        fallbacks = tuple(params(f, depth + 1) for f in spec.fallbacks if depth < 2 and f != name)
        return ModelParams(model=real(spec.model), temperature=spec.temperature, max_tokens=spec.max_tokens,
                           timeout=spec.timeout, retries=spec.retries, context_window=spec.context_window,
                           fallbacks=tuple(f for f in fallbacks if f.model != real(spec.model)))

    names = used_model_names(workflow, default)
    named = [workflow.default_model, *names] if workflow.default_model else names
    replaced = list(dict.fromkeys(n for n in named if override is not None and n != override))
    if replaced:
        warn(f"model override: every step uses `{override}` instead of " + ", ".join(f"`{n}`" for n in replaced))
    table = ModelTable(default=default, params={name: params(name) for name in names})
    offline = sorted({m for m in resolved.values() if is_offline(m)} - substituted_to)
    if offline:
        warn(f"`{offline[0]}` is the offline model: its answers are synthetic placeholders, not a real "
             "model's; add a provider key in Settings (or pick a model) for real answers")
    if default not in table.params:  # every agent names its model: keep `get(None)` working, silently
        announce = False
        table.params[default] = params(default)
    return table
