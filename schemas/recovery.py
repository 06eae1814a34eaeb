"""Best-effort recovery so semantic errors are reported alongside structural ones.

When the models reject a config, the broken parts are replaced by harmless stand-ins (a broken
step by an empty agent step with the same id, a broken agent by the fields of it that are valid,
an unknown top-level key removed, ...) and the result is validated again. If that works, the
semantic checks run on it and their errors are reported too, except those inside a replaced part
or naming something that was removed: every error in one round, not structural first and
semantic next time. If recovery fails, only the structural errors are reported.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from schemas.issues import Issue, Path
from schemas.models import Agent, Workflow

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_STEP_LISTS = frozenset({"steps", "branches", "default"})
_NAMED = frozenset({"agents", "tools", "models", "inputs"})
_TOP_DEFAULTS: Mapping[str, Any] = MappingProxyType({"name": "recovered", "version": 2})


@dataclass
class Recovery:
    """The stand-in workflow and what was replaced, to filter the semantic issues."""

    workflow: Workflow
    replaced: set[Path] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def keeps(self, issue: Issue) -> bool:
        """Whether a semantic issue is about an intact part of the config."""
        if issue.severity != "error":
            return False
        if any(issue.path[: len(p)] == p for p in self.replaced):
            return False
        return not any(f"`{name}`" in issue.message for name in self.names)


def recover(data: dict[str, Any], issues: list[Issue]) -> Recovery | None:
    """A valid stand-in for `data` with the parts named by `issues` replaced, or None."""
    try:
        return _recover(copy.deepcopy(data), issues)
    except (ValidationError, LookupError, TypeError, ValueError, AttributeError):
        return None


def _recover(data: dict[str, Any], issues: list[Issue]) -> Recovery | None:
    agents = data.get("agents")
    if not isinstance(agents, dict):
        return None
    replaced: set[Path] = set()
    names: set[str] = set()
    for issue in issues:
        element = _element(issue.path)
        if element is None:
            return None
        if element in replaced:
            continue
        replaced.add(element)
        if not _replace(data, element, names):
            return None
    valid_agents = [n for n in data["agents"] if _IDENTIFIER.match(str(n))]
    if not valid_agents:
        return None
    _fill_placeholders(data, valid_agents[0])
    return Recovery(Workflow.model_validate(data), replaced, names)


def _element(path: Path) -> Path | None:
    """The smallest part of the config that can be swapped out for an error at `path`."""
    if not path:
        return None
    if path[0] in _NAMED:
        return tuple(path[:2]) if len(path) >= 2 else None
    if path[0] == "checks" and len(path) >= 2 and isinstance(path[1], int):  # only the broken case or
        deep = len(path) >= 4 and path[2] == "expect" and isinstance(path[3], int)  # expectation goes
        return tuple(path[:4]) if deep else tuple(path[:2])
    if path[0] != "steps":
        return (path[0],)
    best: Path | None = None
    for end in range(2, len(path) + 1):
        prefix = tuple(path[:end])
        if isinstance(prefix[-1], int) and prefix[-2] in _STEP_LISTS or prefix[-1] == "step":
            best = prefix
    return best


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _ids_in(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("id"), str):
                found.add(node["id"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _replace(data: dict[str, Any], element: Path, names: set[str]) -> bool:
    parent, key = _get(data, element[:-1]), element[-1]
    if element[0] in _NAMED:
        name = str(key)
        if not isinstance(parent, dict) or key not in parent:
            return False
        if not _IDENTIFIER.match(name):
            del parent[key]
            names.add(name)
        elif element[0] == "agents":
            parent[key] = _valid_agent_fields(parent[key])
        elif element[0] == "tools":
            del parent[key]
            names.add(name)
        elif element[0] == "models":
            parent[key] = {"model": "offline"}
        else:
            parent[key] = {}
        return True
    if element[0] == "checks" and len(element) in (2, 4):  # stand-ins; their own issues are filtered out
        parent[key] = {"name": f"recovered {key}", "max_tokens": 1} if len(element) == 2 else {"contains": "?"}
        return True
    if element[0] != "steps":
        if element[0] in _TOP_DEFAULTS:
            data[element[0]] = _TOP_DEFAULTS[element[0]]
        elif element[0] in Workflow.model_fields and Workflow.model_fields[element[0]].is_required():
            return False
        else:
            data.pop(element[0], None)
        return True
    old = parent[key]
    step_id = old.get("id") if isinstance(old, dict) else None
    keep_id = step_id if isinstance(step_id, str) and _IDENTIFIER.match(step_id) else None
    names.update(_ids_in(old) - {keep_id})
    parent[key] = {"id": keep_id, "type": "agent", "agent": None, "prompt": ""}
    return True


def _valid_agent_fields(old: Any) -> dict[str, Any]:
    """The fields of a broken agent that are valid on their own (so its outputs stay declared)."""
    kept: dict[str, Any] = {"role": "recovered"}
    if isinstance(old, dict):
        for key, value in old.items():
            try:
                Agent.model_validate({**kept, key: value})
            except ValidationError:
                continue
            kept[key] = value
    return kept


def _fill_placeholders(data: dict[str, Any], agent: str) -> None:
    """Give stand-in steps an agent and a unique id."""
    stack: list[Any] = [data.get("steps")]
    count = 0
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "agent" and "agent" in node and node["agent"] is None:
                node["agent"] = agent
                if node.get("id") is None:
                    count += 1
                    node["id"] = f"recovered_{count}"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
