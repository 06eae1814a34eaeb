"""Targeted edits on the draft: `set`, `delete` and `append` at a dotted path.

The model changes one part of the config without re-sending the rest, which keeps the user's
other choices (and, through `to_yaml(base_text=...)`, their comments) untouched. Paths are dotted;
inside a list a segment is an index or the `id` of a step, so `steps.review.prompt`,
`steps[1].prompt` and `steps.loop.steps.0.agent` all work. Edits apply to a copy; the caller
validates the result.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chatbot.errors import DraftError, EditPathError

Container = dict[str, Any] | list[Any]


class EditOp(BaseModel):
    """One edit as the model sends it in `apply_edits`."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["set", "delete", "append"]
    path: str = Field(min_length=1, max_length=300)
    value: Any = None


def apply_edits(config: dict[str, Any], edits: list[EditOp]) -> dict[str, Any]:
    """A copy of `config` with every edit applied in order; raises DraftError listing failures."""
    result = copy.deepcopy(config)
    problems: list[str] = []
    for number, edit in enumerate(edits, start=1):
        try:
            _apply(result, edit)
        except EditPathError as exc:
            problems.append(f"edit {number} ({edit.op} `{edit.path}`): {exc.problems[0]}")
    if problems:
        raise DraftError(problems)
    return result


def _apply(root: dict[str, Any], edit: EditOp) -> None:
    parts = [p for p in re.sub(r"\[(-?\d+)\]", r".\1", edit.path).split(".") if p]
    if not parts:
        raise EditPathError("the path is empty")
    parent = _walk(root, parts[:-1], create=edit.op != "delete")
    last = parts[-1]
    if edit.op == "set":
        _set(parent, last, edit.value)
    elif edit.op == "delete":
        _delete(parent, last)
    else:
        target = _child(parent, last, create=True, make=list)
        if not isinstance(target, list):
            raise EditPathError(f"`{last}` is not a list, so nothing can be appended to it")
        target.append(edit.value)


def _walk(node: Any, parts: list[str], *, create: bool) -> Container:
    for part in parts:
        node = _child(node, part, create=create, make=dict)
    if not isinstance(node, dict | list):
        raise EditPathError(f"`{'.'.join(parts)}` is a value, not a mapping or a list")
    return node


def _child(node: Any, key: str, *, create: bool, make: type) -> Any:
    if isinstance(node, dict):
        if key not in node or node[key] is None:
            if not create:
                raise EditPathError(f"there is no `{key}` here; existing keys: {_keys(node)}")
            node[key] = make()
        return node[key]
    if isinstance(node, list):
        return node[_index(node, key)]
    raise EditPathError(f"cannot go into `{key}`: the value above it is not a mapping or a list")


def _index(items: list[Any], key: str) -> int:
    if key.lstrip("-").isdigit():
        index = int(key)
        if -len(items) <= index < len(items):
            return index % len(items)
        raise EditPathError(f"index {index} is out of range (the list has {len(items)} items)")
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == key:
            return i
    ids = ", ".join(f"`{item['id']}`" for item in items if isinstance(item, dict) and "id" in item)
    raise EditPathError(f"no item with id `{key}` in this list; ids here: {ids or 'none'}")


def _set(parent: Container, key: str, value: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = value
    else:
        parent[_index(parent, key)] = value


def _delete(parent: Container, key: str) -> None:
    if isinstance(parent, dict):
        if key not in parent:
            raise EditPathError(f"there is no `{key}` to delete; existing keys: {_keys(parent)}")
        del parent[key]
    else:
        del parent[_index(parent, key)]


def _keys(node: dict[str, Any]) -> str:
    return ", ".join(f"`{k}`" for k in list(node)[:20]) or "none"
