"""The template language of prompts: `{{ dotted.name }}` references and `{{ expression }}` blocks.

Templates come from untrusted YAML, so there are no filters, statements or attribute access on
Python objects. A block is either a dotted path (list items by number: `steps.plan.output.sections.0.title`)
looked up in a plain dict context of the shape `{"inputs": {...}, "steps": {id: {"output": value}},
"item": ..., "loop": {"iteration": n, "previous": {...}, "history": {...}}}`, or an expression of
the safe expression language (`{{ join(pluck(steps.plan.output.sections, "title"), ", ") }}`). That
keeps the semantic checker able to see and type-check every value a prompt reads, and keeps the
environment out of reach.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from schemas.errors import ExpressionError, TemplateError, TemplateSyntaxError
from schemas.expressions import Expr, evaluate_value, parse_expression, step

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
    """One `{{ ... }}` in a template: a dotted path (or, for an expression block, `expr`) and its offsets.

    For an expression block `path` is the expression's first reference (what a `map.over` reads).
    """

    path: tuple[str, ...]
    start: int
    end: int
    expr: Expr | None = None

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
        if path_match is not None:
            refs.append(Reference(tuple(path_match.group(1).split(".")), match.start(), match.end()))
        else:
            refs.append(_expression_block(inner, match.start(), match.end()))
        pos = match.end()
    _check_plain(text, pos, len(text))
    return refs


def _expression_block(inner: str, start: int, end: int) -> Reference:
    if not inner.strip():
        raise TemplateSyntaxError(
            "template `{{ }}` is empty: write a name such as `{{ inputs.topic }}` or "
            "`{{ steps.research.output.summary }}`"
        )
    try:
        expr = parse_expression(inner)
    except ExpressionError as exc:
        raise TemplateSyntaxError(
            f"template `{{{{ {inner.strip()[:80]} }}}}`: {exc.reason}; write a dotted name such as "
            "`{{ steps.research.output.summary }}` or an expression such as "
            "`{{ join(pluck(steps.plan.output.sections, \"title\"), \", \") }}`"
        ) from None
    from schemas.expressions import expression_references

    first = next(iter(expression_references(expr)), ())
    return Reference(first, start, end, expr)


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
    """The value at `path` in `context`; raises TemplateError naming the first missing part.

    `null` reads as `null` all the way down (an optional field the model left out, the previous
    round of a loop in its first round), so only a name that is really absent is an error.
    """
    value: Any = context
    for depth, part in enumerate(path):
        if value is None:
            return None
        found = step(value, part)
        if found is None and not (isinstance(value, dict) and part in value):
            missing = ".".join(path[: depth + 1])
            raise TemplateError(f"template reads `{'.'.join(path)}` but `{missing}` has no value")
        value = found
    return value


def _value(ref: Reference, context: dict[str, Any]) -> Any:
    if ref.expr is None:
        return lookup(ref.path, context)
    try:
        return evaluate_value(ref.expr, context)
    except ExpressionError as exc:
        raise TemplateError(f"template `{{{{ {ref.expr.text[:80]} }}}}`: {exc.reason}") from None


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
        out.append(to_text(_value(ref, context)))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)


def resolve(text: str, context: dict[str, Any]) -> Any:
    """The raw value when `text` is exactly one reference (e.g. a list for `map.over`), else `render`."""
    refs = find_references(text)
    if len(refs) == 1 and not text[: refs[0].start].strip() and not text[refs[0].end :].strip():
        return _value(refs[0], context)
    return render(text, context)
