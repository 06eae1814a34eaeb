"""The format, described from the model tree: JSON Schema for editors, markdown for the chat.

Both come from the pydantic classes and their `Field(description=...)`, so a field added to
`schemas.models` shows up in the editor, the docs and the assistant's prompt with no list to update.
"""

from __future__ import annotations

import inspect
import types
import typing
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from schemas.models import CURRENT_VERSION, Workflow, _StepBase
from schemas.pydantic_issues import union_members

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_SYNTAX = """\
## Templates

Prompts, messages, tasks, `on` and `over` are templates: plain text with `{{ ... }}` blocks (no
filters or statements). A block is a dotted name — `{{ inputs.<name> }}`, `{{ steps.<id>.output }}`
and, for an agent with `output` fields, `{{ steps.<id>.output.<field> }}`, nested fields and list
items included (`{{ steps.plan.output.sections.0.title }}`) — or an expression (below), e.g.
`{{ join(pluck(steps.plan.output.sections, "title"), ", ") }}`. A template reads only steps that
always run before it. Steps inside a route branch are not visible after the route (read
`steps.<route>.output`); steps inside a loop or a parallel step are. Inside a map step's prompt
`{{ item }}` (or the map's `as` name) is the current item. Inside a loop: `{{ loop.iteration }}`
counts from 1; `{{ loop.previous.<id>.output }}` is what a body step produced in the previous round
(empty in round 1) — a step that revises must read it, e.g. the reviewer's
`loop.previous.review.output.feedback`; `loop.history.<id>` is the list of that step's outputs of
every finished round. Objects and lists render as JSON.

## Structured output

`output` fields: `type` string (default), integer, number, boolean, `list` (with `items`: a scalar
name or a field such as `{type: object, fields: {...}}`) or `object` (with `fields`); `enum` for
strings; `optional: true` when the model may leave it out. Field names may use capitals
(`nextStep`).

## Expressions

`until:` and, in a route without `on`/`classify`, `when:` are conditions: dotted names
(`steps.review.output.approved`, `inputs.strict`, `loop.iteration`, `sections.0` or `sections[-1]`),
literals (numbers, quoted strings, `true`, `false`, `null`, `[...]`), `== != < <= > >=`, `in`,
`not in`, `contains`, `and`, `or`, `not`, parentheses and list functions: `count(list[, cond])`,
`any(list[, cond])`, `all(list[, cond])`, `filter(list, cond)`, `pluck(list, "field")`,
`sort(list[, key][, "desc"])`, `take(list, k)`, `first(list)`, `last(list)`, `join(list[, sep])`,
`sum/min/max(list[, key])`, where `cond`/`key` read the current item as `it`
(`any(steps.review.output.issues, it.severity == "high")`). A name without a value is `null`.
Expressions are type-checked against the declared outputs: to test a list of objects, test a field
of its items with `any(...)`, not `contains`.

## Rules

Keys, tokens, passwords, headers and base URLs are never allowed in a config: they come from
Settings or the environment. Unknown keys are errors. Step ids are unique across the whole file.
"""


@lru_cache(maxsize=1)
def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of a config (what `workflow.schema.json` holds)."""
    schema = Workflow.model_json_schema(by_alias=True)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": "graphwright workflow", **schema}


@lru_cache(maxsize=1)
def describe_format() -> str:
    """A compact markdown description of the format, generated from the model tree."""
    common = "; ".join(
        f"`{key}` ({_describe_type(info.annotation, info)}{_default(info)}): {info.description}"
        for key, info in _fields(_StepBase)
    )
    sections: list[str] = [
        f"# graphwright workflow format (version {CURRENT_VERSION})",
        "A config is one YAML mapping. Every step is a mapping with a `type` (one of the step kinds "
        f"below) and these fields: {common}",
    ]
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[type[BaseModel], str]] = [(Workflow, "the top level")]
    for key, info in _fields(_StepBase):  # models inside the common step fields (e.g. `retry`)
        queue += [(child, f"`{key}` of any step") for child, _ in _children(info.annotation, _StepBase, key)]
    while queue:
        model, where = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        lines = [f"## {_title(model)} — {where}", _doc(model)]
        for key, info in _fields(model):
            if _tag(model) and (
                key == "type" or issubclass(model, _StepBase) and key in _StepBase.model_fields
            ):
                continue  # the tag is in the title; the common step fields are listed once
            lines.append(
                f"- `{key}` ({_describe_type(info.annotation, info)}{_default(info)}): {info.description or ''}"
            )
            for child, child_where in _children(info.annotation, model, key):
                queue.append((child, child_where))
        sections.append("\n".join(line for line in lines if line))
    sections.append(_SYNTAX)
    return "\n\n".join(sections).strip() + "\n"


def _fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    ordered = sorted(model.model_fields.items(), key=lambda kv: kv[0] not in ("type", "id"))
    return [(info.alias or name, info) for name, info in ordered]


def _title(model: type[BaseModel]) -> str:
    tag = _tag(model)
    return f"`type: {tag}` — {model.__name__}" if tag else model.__name__


def _tag(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("type")
    if info is not None and info.is_required() and get_origin(info.annotation) is Literal:
        return str(get_args(info.annotation)[0])
    return None


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "").replace("\n", " ")


def _children(tp: Any, owner: type[BaseModel], key: str) -> list[tuple[type[BaseModel], str]]:
    """Model classes reachable through a field, with a note of where they appear."""
    out: list[tuple[type[BaseModel], str]] = []
    stack = [tp]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            out.append((current, f"`{key}` of {owner.__name__}"))
        elif get_origin(current) is not Literal:
            stack.extend(reversed(get_args(current)))
    return out


def _describe_type(tp: Any, info: FieldInfo | None = None) -> str:
    text = _type_name(tp)
    bounds = _bounds(info.metadata if info is not None else [])
    return f"{text}, {bounds}" if bounds else text


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        base, *meta = get_args(tp)
        bounds = _bounds(meta)
        return f"{_type_name(base)} ({bounds})" if bounds else _type_name(base)
    tags = union_members(tp)
    if tags:
        return "step" if all(issubclass(m, _StepBase) for m in tags.values()) else "tool"
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(m) for m in members)
    if origin is Literal:
        return " | ".join(f"`{v}`" for v in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"map of name → {_type_name(get_args(tp)[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__name__
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _bounds(metadata: list[Any]) -> str:
    parts: list[str] = []
    for item in metadata:
        for cls, attr, sign in ((Ge, "ge", "≥"), (Gt, "gt", ">"), (Le, "le", "≤"), (Lt, "lt", "<")):
            if isinstance(item, cls):
                parts.append(f"{sign} {getattr(item, attr)}")
        if isinstance(item, MaxLen):
            parts.append(f"at most {item.max_length}")
        if isinstance(item, MinLen) and item.min_length:
            parts.append(f"at least {item.min_length}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return ", required"
    default = (
        info.get_default(call_default_factory=True) if info.default is PydanticUndefined else info.default
    )
    if default in (None, "", [], {}) or isinstance(default, BaseModel):
        return ""
    return f", default `{str(default).lower() if isinstance(default, bool) else default}`"
