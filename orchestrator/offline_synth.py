"""Deterministic synthetic answers for the offline model: text, structured JSON, tool calls.

Pure functions of the prompt (seeded by its hash), so a workflow run offline gives the same trace
every time and tests can rely on it. Values are plausible but clearly synthetic.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.text import shorten

SCHEMA_MARKER = "Reply with only a JSON object that matches this JSON Schema:"
_WORDS = ("alpha", "bravo", "delta", "harbor", "meadow", "signal", "quartz", "lumen", "orbit", "cedar")


@dataclass(frozen=True)
class SyntheticReply:
    text: str = ""
    tool_name: str | None = None
    tool_arguments: str = ""


class _Seed:
    """A tiny deterministic number stream derived from the prompt."""

    def __init__(self, material: str) -> None:
        self._digest = hashlib.sha256(material.encode()).digest()
        self._i = 0

    def next(self, modulo: int) -> int:
        if self._i + 4 > len(self._digest):
            self._digest, self._i = hashlib.sha256(self._digest).digest(), 0
        value = int.from_bytes(self._digest[self._i:self._i + 4], "big")
        self._i += 4
        return value % max(1, modulo)


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def task_of(messages: list[dict[str, Any]], limit: int = 120) -> str:
    """The last user message, whitespace collapsed and shortened: what the reply talks about."""
    user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    text = re.sub(r"\s+", " ", _text_of(user or (messages[-1] if messages else {}))).strip()
    text = text.split(SCHEMA_MARKER)[0].strip()
    return shorten(text, limit)


def schema_from_messages(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The JSON Schema the client's structured-output instruction embedded in the prompt, if any."""
    for message in reversed(messages):
        text = _text_of(message)
        if SCHEMA_MARKER in text:
            tail = text.split(SCHEMA_MARKER, 1)[1]
            match = re.search(r"\{.*\}", tail, re.S)
            if match:
                try:
                    return json.loads(match.group(0))
                except json.JSONDecodeError:
                    return None
    return None


def value_for(schema: dict[str, Any], name: str, task: str, seed: _Seed, root: dict[str, Any]) -> Any:
    """A plausible value of `schema` (field `name`), chosen deterministically."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        target = (root.get("$defs") or root.get("definitions") or {}).get(ref, {})
        return value_for(target, name, task, seed, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][seed.next(len(schema["enum"]))]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return value_for(options[0], name, task, seed, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: value_for(sub, key, task, seed, root) for key, sub in props.items()}
    if kind == "array":
        count = max(schema.get("minItems", 2), min(schema.get("maxItems", 4), 2 + seed.next(3)))
        return [value_for(schema.get("items", {}), name, task, seed, root) for _ in range(count)]
    if kind == "boolean":
        return bool(seed.next(2))
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        high = max(low, schema.get("maximum", low + 100))
        number = low + seed.next(int(high - low) + 1)
        return number if kind == "integer" else min(float(high), number + seed.next(100) / 100)
    word = _WORDS[seed.next(len(_WORDS))]
    text = f"synthetic {name or 'value'} ({word}) for: {task}" if task else f"synthetic {name} ({word})"
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def synthesize(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
               schema: dict[str, Any] | None = None) -> SyntheticReply:
    """What the offline model says to this prompt."""
    seed = _Seed(json.dumps(messages, sort_keys=True, default=str) + json.dumps(tools or [], default=str))
    task = task_of(messages)
    tool_results = [m for m in messages if m.get("role") == "tool"]
    if tools and not tool_results:
        function = tools[0].get("function", tools[0])
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        arguments = value_for(parameters, "", task, seed, parameters)
        return SyntheticReply(tool_name=function.get("name", "tool"), tool_arguments=json.dumps(arguments))
    schema = schema or schema_from_messages(messages)
    if schema:
        return SyntheticReply(text=json.dumps(value_for(schema, "", task, seed, schema)))
    word = _WORDS[seed.next(len(_WORDS))]
    if tool_results:
        seen = shorten(re.sub(r"\s+", " ", _text_of(tool_results[-1])), 80)
        return SyntheticReply(text=f"[offline model] Using the tool result ({seen}), here is a synthetic "
                                   f"answer to: {task}. Marker: {word}.")
    return SyntheticReply(text=f"[offline model] This is a synthetic answer to: {task or 'your request'}. "
                               f"No real model was called (marker: {word}); add an API key in Settings "
                               "for real answers.")
