"""The draft: validate a proposed config, keep comments, and decide whether it needs consent.

Every change to the draft — from the model, the guided form or the editor — goes through
`propose`: the candidate (a plain dict) is validated by the one loader in `schemas`, checked for
pasted keys, rendered onto the current text with `to_yaml(base_text=...)` so the user's comments
and key order survive, and compared with the current draft for raised powers. Invalid candidates
raise `DraftError` with every problem, worded for the model to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

from chatbot.comments import annotate
from chatbot.errors import DraftError
from schemas.models import Workflow

_MAX_DEPTH = 60


@dataclass
class Proposal:
    """A validated candidate: the object, its YAML (comments kept) and the powers it raises."""

    workflow: Workflow
    yaml: str
    powers: list[str]


def validate(text: str, *, located: bool = False) -> tuple[Workflow | None, list[str]]:
    """The workflow in `text` and every problem found (empty when valid).

    `located` words problems by line and column (for the person editing the text) instead of by
    YAML path (for the model, whose candidate is JSON).
    """
    from schemas import validate_text

    if not text.strip():
        return None, ["the draft is empty"]
    report = validate_text(text)
    problems = [str(i) if located else describe_issue(i) for i in report.errors]
    problems += secret_problems(text)
    if problems or report.workflow is None:
        return None, problems or ["the config did not validate"]
    return report.workflow, []


def describe_issue(issue: Any) -> str:
    """An issue as the model and the user read it: where (YAML path) and what to do."""
    where = getattr(issue, "dotted_path", "") or "config"
    fix = f" ({issue.fix})" if getattr(issue, "fix", None) else ""
    return f"{where}: {issue.message}{fix}"


def secret_problems(text: str) -> list[str]:
    """A problem for each thing in `text` that looks like an API key: keys never go in a config."""
    from orchestrator.secrets import find_secrets

    if not find_secrets(text):
        return []
    return [
        "the config contains something that looks like an API key or token; remove it — keys "
        "belong in Settings and are never written into a config"
    ]


def plain_data(text: str) -> dict[str, Any]:
    """The draft text as plain data for editing; refuses aliases and deep nesting (untrusted text)."""
    if not text.strip():
        return {}
    safe = YAML(typ="safe", pure=True)
    try:
        depth = 0
        for event in safe.parse(text):
            if isinstance(event, AliasEvent):
                raise DraftError(["the draft uses YAML aliases (`*name`); write the values out instead"])
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise DraftError(["the draft is nested too deeply"])
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
        data = safe.load(text)
    except DraftError:
        raise
    except Exception as exc:  # ruamel raises many YAMLError subclasses; all mean "not YAML"
        raise DraftError([f"the draft is not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise DraftError(["the draft must be a mapping with `version`, `name`, `agents` and `steps`"])
    return json.loads(json.dumps(data, default=str))


def propose(candidate: dict[str, Any], *, base_text: str, before: Workflow | None) -> Proposal:
    """Validate `candidate` and render it onto `base_text`; raises DraftError listing every problem."""
    from schemas import to_yaml
    from schemas.powers import raised_powers

    text = json.dumps(candidate, ensure_ascii=False)
    workflow, problems = validate(text)
    if workflow is None:
        raise DraftError(problems)
    rendered = to_yaml(workflow, base_text=base_text) if base_text.strip() else annotate(to_yaml(workflow))
    powers = list(raised_powers(before, workflow))
    return Proposal(workflow, rendered, powers)


def current_workflow(text: str) -> Workflow | None:
    """The workflow in `text` when it validates, else None."""
    workflow, _ = validate(text) if text.strip() else (None, [])
    return workflow
