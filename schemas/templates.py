"""The template language of prompts: `{{ dotted.name }}` references and nothing else.

Templates come from untrusted YAML, so there are no filters, calls, indexing expressions or
attribute access on Python objects — only a lookup of a dotted path in a plain dict context of the
shape `{"inputs": {...}, "steps": {id: {"output": value}}, "item": ..., "loop": {"iteration": n}}`.
That keeps the semantic checker able to see every value a prompt reads, and keeps the environment
out of reach.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from schemas.errors import TemplateError, TemplateSyntaxError

__all__ = [
    "TEMPLATE_RE",
    "Reference",
    "TemplateError",
    "TemplateSyntaxError",
    "find_references",
    "render",
    "resolve",
]

# Any `{{ ... }}` block (non-greedy, may span lines); its inside is checked by `_PATH_RE`.
TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PATH_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*$")
_STATEMENT_RE = re.compile(r"\{[%#]")


@dataclass(frozen=True)
class Reference:
    """One `{{ a.b.c }}` in a template: the dotted path and its offsets in the text."""

    path: tuple[str, ...]
    start: int
    end: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def find_references(text: str) -> list[Reference]:
    """Every reference in `text`, in order; raises TemplateSyntaxError on anything else."""
    refs: list[Reference] = []
    pos = 0
    for match in TEMPLATE_RE.finditer(text):
        _check_plain(text, pos, match.start())
        inner = match.group(1)
        path_match = _PATH_RE.match(inner)
        if path_match is None:
            shown = inner.strip() or "(empty)"
            raise TemplateSyntaxError(
                f"template `{{{{ {shown[:80]} }}}}` is not a plain reference: write a dotted name "
                "such as `{{ inputs.topic }}` or `{{ steps.research.output.summary }}` "
                "(no filters, calls or brackets)"
            )
        refs.append(Reference(tuple(path_match.group(1).split(".")), match.start(), match.end()))
        pos = match.end()
    _check_plain(text, pos, len(text))
    return refs


def _check_plain(text: str, start: int, end: int) -> None:
    """Text between references must not open a block that was never closed."""
    chunk = text[start:end]
    if "{{" in chunk:
        raise TemplateSyntaxError("template has `{{` without a closing `}}`")
    statement = _STATEMENT_RE.search(chunk)
    if statement is not None:
        raise TemplateSyntaxError(
            f"template uses `{statement.group(0)}`: only `{{{{ dotted.name }}}}` references are supported"
        )


def lookup(path: tuple[str, ...], context: dict[str, Any]) -> Any:
    """The value at `path` in `context`; raises TemplateError naming the first missing part."""
    value: Any = context
    for depth, part in enumerate(path):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            missing = ".".join(path[: depth + 1])
            raise TemplateError(f"template reads `{'.'.join(path)}` but `{missing}` has no value")
    return value


def to_text(value: Any) -> str:
    """How a value appears inside a prompt: strings as is, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def render(text: str, context: dict[str, Any]) -> str:
    """Fill every reference in `text` from `context`."""
    out: list[str] = []
    pos = 0
    for ref in find_references(text):
        out.append(text[pos : ref.start])
        out.append(to_text(lookup(ref.path, context)))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)


def resolve(text: str, context: dict[str, Any]) -> Any:
    """The raw value when `text` is exactly one reference (e.g. a list for `map.over`), else `render`."""
    refs = find_references(text)
    if len(refs) == 1 and not text[: refs[0].start].strip() and not text[refs[0].end :].strip():
        return lookup(refs[0].path, context)
    return render(text, context)
