"""Structured outputs: the JSON Schema asked for, and parsing/validating what came back.

An agent that declares `output` fields gets a pydantic model built from them; the model's JSON
Schema goes into the request (`LLMRequest.json_schema`), the reply is parsed leniently (code fences
and prose around the object are tolerated) and validated strictly. The engine gives the model one
repair attempt with the validation error fed back (`repair_message`), then fails the step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from schemas.models import OutputField

_SCALARS: Mapping[str, type] = MappingProxyType({"string": str, "integer": int, "number": float, "boolean": bool})
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class OutputInvalid(ValueError):
    """The model's answer is not the declared JSON object; the message is fed back for repair."""


def output_model(fields: Mapping[str, OutputField], name: str = "Output") -> type[BaseModel]:
    """A pydantic model of the declared fields, nested objects and lists of objects included.

    Python names are generated (`f0`, `f1`, ...) and the declared names are aliases, so any name a
    person writes (`nextStep`, `URL`, `model_config`) is safe; optional fields default to `null`.
    """
    definitions: dict[str, Any] = {}
    for index, (field_name, spec) in enumerate(fields.items()):
        annotation = _annotation(spec, f"{name}_{index}")
        default: Any = None if spec.optional else ...
        if spec.optional:
            annotation = annotation | None
        definitions[f"f{index}"] = (
            annotation,
            Field(default, alias=field_name, description=spec.description or None),
        )
    config = ConfigDict(extra="ignore", populate_by_name=False, serialize_by_alias=True)
    return create_model(name, __config__=config, **definitions)


def _annotation(spec: OutputField, name: str) -> Any:
    if spec.type == "list":
        item = spec.items
        return list[_annotation(item, f"{name}_item") if isinstance(item, OutputField) else _SCALARS[item]]  # type: ignore[misc]
    if spec.type == "object":
        return output_model(spec.fields or {}, name)
    if spec.type == "string" and spec.enum:
        return Literal[tuple(spec.enum)]
    return _SCALARS[spec.type]


def json_schema(fields: Mapping[str, OutputField]) -> dict[str, Any]:
    """The JSON Schema of the declared fields (what `response_format` carries); no extra keys anywhere."""
    schema = output_model(fields).model_json_schema(by_alias=True)
    for sub in [schema, *(schema.get("$defs") or {}).values()]:
        if sub.get("type") == "object":
            sub["additionalProperties"] = False
    return schema


def _kind(spec: OutputField) -> str:
    """How a field is described to the model in plain words."""
    if spec.type == "list":
        item = spec.items
        kind = "list of " + (_kind(item) if isinstance(item, OutputField) else item)
    elif spec.type == "object":
        inner = ", ".join(f"{k}: {_kind(v)}" for k, v in (spec.fields or {}).items())
        kind = "object {" + inner + "}"
    else:
        kind = spec.type
    if spec.enum:
        kind += " (one of: " + ", ".join(json.dumps(v) for v in spec.enum) + ")"
    return kind + (" (optional)" if spec.optional else "")


def format_instructions(fields: Mapping[str, OutputField]) -> str:
    """The system-prompt paragraph telling the model which JSON object to answer with."""
    lines = ["Answer with only a JSON object (no prose, no code fence) with exactly these fields:"]
    for name, spec in fields.items():
        lines.append(f"- {name}: {_kind(spec)}" + (f" — {spec.description}" if spec.description else ""))
    return "\n".join(lines)


def parse_output(text: str, fields: Mapping[str, OutputField]) -> dict[str, Any]:
    """The validated object as plain JSON values; raises OutputInvalid saying what is wrong."""
    data = _extract_json(text)
    try:
        value = output_model(fields).model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in err['loc']) or '(root)'}`: {err['msg']}" for err in exc.errors()[:10]
        )
        raise OutputInvalid(f"the JSON does not match the declared fields: {problems}") from None
    return value.model_dump(mode="json", by_alias=True)


def repair_message(error: OutputInvalid, fields: Mapping[str, OutputField]) -> str:
    """The user message of the single repair attempt."""
    return f"Your last answer could not be used: {error}\nFix this and try again.\n{format_instructions(fields)}"


def _extract_json(text: str) -> Any:
    candidates = [text.strip()]
    candidates += [m.strip() for m in _FENCE_RE.findall(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    if not text.strip():
        raise OutputInvalid("the answer was empty; a JSON object was expected")
    raise OutputInvalid("the answer is not a JSON object")
