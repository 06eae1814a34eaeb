"""Maps pydantic's validation errors onto YAML positions, with messages people can act on.

Pydantic puts a discriminated union's tag into error locations (`('steps', 0, 'agent', 'x')`);
walking the model annotations alongside the location tells tags apart from keys, strips them, and
yields the model that owns an unknown key so a did-you-mean can be offered.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import Workflow, _StepBase
from schemas.suggest import did_you_mean

_KEY = "[key]"


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional, leaving the type that holds data."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def union_members(tp: Any) -> dict[str, type[BaseModel]]:
    """For a union of models with a `type: Literal[...]` field: tag -> model class."""
    tp = _unwrap(tp)
    if get_origin(tp) not in (Union, types.UnionType):
        return {}
    tags: dict[str, type[BaseModel]] = {}
    members = [_unwrap(m) for m in get_args(tp) if m is not type(None)]
    if not all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
        return {}  # e.g. `items: string | OutputField`: not a union of kinds
    for member in members:
        if "type" in member.model_fields:
            annotation = member.model_fields["type"].annotation
            if get_origin(annotation) is Literal:
                for tag in get_args(annotation):
                    tags[str(tag)] = member
    return tags


def field_by_key(model: type[BaseModel], key: str) -> Any:
    """The annotation of the field written as `key` in YAML (aliases included), or None."""
    for name, info in model.model_fields.items():
        if key == (info.alias or name):
            return info.annotation
    return None


def yaml_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _walk(loc: tuple[Any, ...]) -> tuple[Path, Any, Any, bool, bool | str]:
    """(YAML path, type owning the last element, type at the path, the last element is a dict key,
    passed a plain union: True, or which branch of a scalar-or-model union: "literal"/"model")."""
    tp: Any = Workflow
    path: list[str | int] = []
    owner: Any = None
    plain_union = False
    is_key = False
    union_branch = ""
    for el in loc:
        current = _unwrap(tp)
        owner = current
        if el == _KEY:
            is_key = True
            continue
        tags = union_members(current)
        if tags and isinstance(el, str) and el in tags:
            tp = tags[el]
            continue
        if get_origin(current) in (Union, types.UnionType) and isinstance(el, str):
            model = next((m for m in get_args(current) if _names(el, m)), None)
            if isinstance(model, type) and issubclass(model, BaseModel):
                tp = model  # e.g. `items: string | OutputField` given a mapping: report inside it
                union_branch = "model"
                continue
            if el.startswith("literal["):
                tp = next((m for m in get_args(current) if get_origin(m) is Literal), None)
                union_branch = "literal"
                continue
            plain_union = True  # e.g. `default: str | bool | ...` reports once per member
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            tp = field_by_key(current, str(el))
        elif get_origin(current) is list:
            tp = get_args(current)[0]
        elif get_origin(current) is dict:
            tp = get_args(current)[1]
        else:
            tp = None
        path.append(el)
    return tuple(path), owner, _unwrap(tp), is_key, plain_union or union_branch


def _names(el: str, member: Any) -> bool:
    """Whether a union's error location element `el` names model `member` (validators wrap it)."""
    name = getattr(member, "__name__", None)
    return name is not None and (el == name or el.endswith(f", {name}]"))


def _dotted(path: Path) -> str:
    shown = ""
    for part in path:
        shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else str(part))
    return shown or "the config"


def _where(path: Path) -> str:
    return f"in `{_dotted(path)}`" if path else "at the top level"


def pydantic_issues(error: ValidationError, locator: Locator) -> list[Issue]:
    """One Issue per distinct pydantic error, located in the YAML."""
    issues: list[Issue] = []
    seen: set[tuple[Path, str]] = set()
    for err in error.errors(include_url=False):
        path, owner, final, is_key, union = _walk(tuple(err["loc"]))
        kind = err["type"]
        if (union == "model" and kind == "model_type") or (union == "literal" and isinstance(err.get("input"), dict)):
            continue  # the other branch of `name | {mapping}` explains what is wrong
        plain_union = union is True
        dedupe = (path, "union" if plain_union else kind + err["msg"])
        if dedupe in seen:
            continue
        seen.add(dedupe)
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            owner = final
        issues.append(_one(err, kind, path, owner, is_key, plain_union, locator, final))
    return issues


def _is_step_list(tp: Any) -> bool:
    if get_origin(tp) is not list:
        return False
    tags = union_members(get_args(tp)[0])
    return bool(tags) and all(issubclass(m, _StepBase) for m in tags.values())


def _one(
    err: Any, kind: str, path: Path, owner: Any, is_key: bool, plain_union: bool, locator: Locator, final: Any
) -> Issue:
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = yaml_keys(owner) if isinstance(owner, type) and issubclass(owner, BaseModel) else []
        split = _split_flow_value(locator, path) if key not in allowed else None
        if split is not None and (err.get("input") is None or " " in key):  # `Hello, world`: surely a cut value
            return locator.issue(path, f"`{key}` is not a key: {split[0]}", split[1], at="key")
        hint = did_you_mean(key, allowed, list_up_to=16)
        if split is not None:  # `then: more` may be a key or the rest of the value
            quote = f"if `{key}: ...` belongs to the value before it, {split[1]}"
            hint = f"{hint}; or, {quote}" if hint else quote
        return locator.issue(path, f"unknown key `{key}` {_where(path[:-1])}", hint, at="key")
    if kind == "missing":
        return locator.issue(path[:-1], f"missing required key `{path[-1]}` {_where(path[:-1])}", at="key")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = sorted(union_members(owner)) if owner is not None else []
        expected = ", ".join(f"`{t}`" for t in tags)
        if kind == "union_tag_not_found":
            return locator.issue(path, f"{_dotted(path)} needs a `type`: one of {expected}", at="key")
        tag = str(ctx.get("tag", ""))
        return locator.issue(
            (*path, "type"), f"unknown type `{tag}` in `{_dotted(path)}`", did_you_mean(tag, tags)
        )
    if is_key:
        case = "" if any(p in ("output", "fields") for p in path[:-1]) else "lowercase "
        return locator.issue(
            path,
            f"`{path[-1]}` is not a valid name {_where(path[:-1])}: use {case}letters, digits and "
            "underscores, starting with a letter",
            at="key",
        )
    if plain_union:
        return locator.issue(path, f"`{_dotted(path)}` has a value of the wrong type ({_short(value)})")
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip().strip("'\"") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        unquote = isinstance(value, str) and value in options and expected.strip("'\"") == value
        return locator.issue(
            path,
            f"`{_dotted(path)}` cannot be {_short(value)}: expected {expected}",
            "remove the quotes" if unquote else did_you_mean(str(value), options),
        )
    if kind == "too_short" and _is_step_list(final):
        least = int(ctx.get("min_length", 1))
        return locator.issue(
            path,
            f"`{_dotted(path)}` needs at least {least} step{'s' if least > 1 else ''}",
            "a workflow needs a step that does something, e.g. an `agent` step"
            if len(path) == 1
            else "to do nothing here, remove the step that holds this list; only a route's case or "
            "`default` may be `steps: []`, which does nothing and carries on (an `end` step stops the run)",
        )
    if kind == "string_pattern_mismatch":
        return locator.issue(path, f"`{_dotted(path)}` {_short(value)} is not allowed: {_pattern_hint(path)}")
    fix = "quote the value to make it a string" if kind == "string_type" and value is not None else None
    message = err["msg"][0].lower() + err["msg"][1:]
    if kind == "value_error" and ctx.get("error") is not None:
        message = str(ctx["error"])  # our own validators' messages, without pydantic's prefix
    for pydantic_word, yaml_word in _YAML_WORDS:
        message = message.replace(pydantic_word, yaml_word)
    return locator.issue(path, f"`{_dotted(path)}`: {message}", fix)


_YAML_WORDS = (
    ("a valid dictionary", "a mapping of `name: value` pairs"),
    ("a valid list", "a list (`- item` lines or `[a, b]`)"),
)


_FLOW_PAIR = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*([^,{}]*)$")


def _split_flow_value(locator: Locator, path: Path) -> tuple[str, str] | None:
    """(message, fix) when an unknown key in `{...}` is really the rest of the previous value,
    cut off by an unquoted comma (`prompt: Hello, world` reads as a key `world`)."""
    line, column = locator.position(path, at="key")
    lines = locator.text.splitlines()
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    before, after = text[: column - 1].rstrip(), text[column - 1 :]
    if not before.endswith(",") or "{" not in before:
        return None
    pair = _FLOW_PAIR.search(before[:-1])
    if pair is None or pair.group(2).strip()[:1] in ("'", '"'):
        return None
    rest = re.split(r"[,}]", after, maxsplit=1)[0].strip()
    value = f"{pair.group(2).strip()}, {rest}".replace("'", "''")
    return (
        f"the comma after `{pair.group(2).strip()}` ends the value of `{pair.group(1)}` inside `{{...}}`, "
        "so the rest reads as a new key",
        f"quote the whole value: `{pair.group(1)}: '{value}'`",
    )


def _pattern_hint(path: Path) -> str:
    last = path[-1] if path else ""
    if last == "name" and "artifact" in path:
        return "write a plain file name such as `report.md` (letters, digits, `-`, `_` and one extension; no folders)"
    if last in ("prompt_file", "instructions_file"):
        return "name a file inside the config's folder, relative to it, e.g. `prompts/writer.md`"
    if last == "name":
        return "use lowercase letters, digits, `-` and `_`"
    if last in ("model", "default_model", "summary_model") or "fallbacks" in path:
        return "write a LiteLLM model string such as `openai/gpt-4o-mini` or an alias under `models`"
    if "allow" in path:
        return "write a URL pattern starting with `https://` or `http://`"
    return "use lowercase letters, digits and underscores, starting with a letter"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
