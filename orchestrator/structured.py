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
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from schemas.models import OutputField

_SCALARS: Mapping[str, type] = MappingProxyType({"string": str, "integer": int, "number": float, "boolean": bool})
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class OutputInvalid(ValueError):
    """The model's answer is not the declared JSON object; the message is fed back for repair."""


def output_model(fields: dict[str, OutputField], name: str = "Output") -> type[BaseModel]:
    """A pydantic model with one required field per declared output field."""
    definitions: dict[str, Any] = {}
    for field_name, spec in fields.items():
        annotation: Any
        if spec.type == "list":
            annotation = list[_SCALARS[spec.items]]  # type: ignore[valid-type]
        elif spec.type == "string" and spec.enum:
            annotation = Literal[tuple(spec.enum)]  # type: ignore[valid-type]
        else:
            annotation = _SCALARS[spec.type]
        definitions[field_name] = (annotation, Field(description=spec.description or None))
    return create_model(name, __config__=ConfigDict(extra="ignore"), **definitions)


def json_schema(fields: dict[str, OutputField]) -> dict[str, Any]:
    """The JSON Schema of the declared fields (what `response_format` carries)."""
    schema = output_model(fields).model_json_schema()
    schema["additionalProperties"] = False
    return schema


def format_instructions(fields: dict[str, OutputField]) -> str:
    """The system-prompt paragraph telling the model which JSON object to answer with."""
    lines = ["Answer with only a JSON object (no prose, no code fence) with exactly these fields:"]
    for name, spec in fields.items():
        kind = f"list of {spec.items}" if spec.type == "list" else spec.type
        if spec.enum:
            kind += " (one of: " + ", ".join(json.dumps(v) for v in spec.enum) + ")"
        lines.append(f"- {name}: {kind}" + (f" — {spec.description}" if spec.description else ""))
    return "\n".join(lines)


def parse_output(text: str, fields: dict[str, OutputField]) -> dict[str, Any]:
    """The validated object as plain JSON values; raises OutputInvalid saying what is wrong."""
    data = _extract_json(text)
    try:
        value = output_model(fields).model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in err['loc']) or '(root)'}`: {err['msg']}" for err in exc.errors()[:10]
        )
        raise OutputInvalid(f"the JSON does not match the declared fields: {problems}") from None
    dumped = value.model_dump(mode="json")
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in dumped.items()}


def repair_message(error: OutputInvalid, fields: dict[str, OutputField]) -> str:
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
