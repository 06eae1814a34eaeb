"""The condition language of `until:` and route `when:`: small, safe, never `eval`.

Grammar: dotted names (`steps.review.output.approved`), literals (numbers, quoted strings,
`true`/`false`/`null`, `[...]` lists), `== != < <= > >=`, `in`, `not in`, `contains`, `and`, `or`,
`not` and parentheses. The text is parsed with Python's `ast` and every node is checked against a
whitelist; evaluation walks that tree itself. A name with no value is `null`, and a comparison that
cannot be made (e.g. `null < 3`) is false, so a condition never crashes a run.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from schemas.errors import ExpressionError

__all__ = ["Expr", "ExpressionError", "evaluate", "expression_references", "parse_expression"]

_LITERAL_NAMES: Mapping[str, Any] = MappingProxyType(
    {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
)
# `contains` is not Python: it is rewritten to `is` (same precedence as `in`), padded to keep columns.
_CONTAINS = "contains"
_CONTAINS_AS = "is" + " " * (len(_CONTAINS) - 2)
_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is)
_MAX_LENGTH = 2000
_KEYWORDS_RE = re.compile(r"\b(contains|is)\b")


@dataclass(frozen=True)
class Expr:
    """A parsed, checked expression; evaluate it many times without parsing again."""

    text: str
    tree: ast.expr


def parse_expression(text: str) -> Expr:
    """Parse and check `text`; raises ExpressionError with a 1-based column on anything unsupported."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty: write a condition such as `steps.review.output.approved`")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {_MAX_LENGTH} characters")
    indent = len(text) - len(text.lstrip())
    try:
        source = _rewrite_keywords(text.strip())
        tree = ast.parse(source, mode="eval").body
        _check(tree)
    except SyntaxError as exc:
        column = exc.offset + indent if exc.offset else None
        raise ExpressionError(f"cannot parse expression `{text.strip()}`: {exc.msg}", column) from None
    except ExpressionError as exc:
        column = exc.column + indent if exc.column is not None else None
        raise ExpressionError(exc.reason, column) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression is nested too deeply or too long") from None
    return Expr(text.strip(), tree)


def _rewrite_keywords(text: str) -> str:
    """Turn `contains` into a comparison Python can parse; refuse Python's own `is`."""
    if not _KEYWORDS_RE.search(text):
        return text  # nothing to rewrite: skip the (slow) tokenizer
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text  # ast.parse reports the problem with a position
    lines = text.split("\n")
    for tok in tokens:
        if tok.type != tokenize.NAME:
            continue
        row, col = tok.start
        if tok.string == "is":
            raise ExpressionError("`is` is not supported: use `==` or `!=`", col + 1)
        if tok.string == _CONTAINS:
            line = lines[row - 1]
            lines[row - 1] = line[:col] + _CONTAINS_AS + line[col + len(_CONTAINS) :]
    return "\n".join(lines)


def _column(node: ast.AST) -> int | None:
    offset = getattr(node, "col_offset", None)
    return offset + 1 if offset is not None else None


def _check(node: ast.AST) -> None:
    """Accept only the whitelisted node types, with a message that says what to write instead."""
    match node:
        case ast.BoolOp(op=ast.And() | ast.Or(), values=values):
            for value in values:
                _check(value)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            _check(operand)
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=ast.Constant(value=int() | float())):
            pass
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            for op in ops:
                if not isinstance(op, _COMPARE_OPS):
                    raise ExpressionError("unsupported comparison", _column(node))
            _check(left)
            for comparator in comparators:
                _check(comparator)
        case ast.Constant(value=value):
            if not isinstance(value, str | int | float | bool | type(None)):
                raise ExpressionError("unsupported literal", _column(node))
        case ast.Name():
            pass
        case ast.Attribute():
            _dotted(node)
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            for elt in elts:
                _check(elt)
        case ast.Call():
            raise ExpressionError("function calls are not allowed in expressions", _column(node))
        case ast.Subscript():
            raise ExpressionError("`[...]` indexing is not allowed: use dotted names", _column(node))
        case ast.BinOp():
            raise ExpressionError(
                "arithmetic is not allowed: use `== != < <= > >= in contains and or not`", _column(node)
            )
        case _:
            raise ExpressionError(f"`{type(node).__name__}` is not allowed in expressions", _column(node))


def _dotted(node: ast.AST) -> tuple[str, ...]:
    """The path of a `a.b.c` name chain; anything else inside it is refused."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ExpressionError("only dotted names such as `steps.review.output` are allowed", _column(node))
    parts.append(node.id)
    return tuple(reversed(parts))


def expression_references(text: str | Expr) -> list[tuple[str, ...]]:
    """Every dotted name the expression reads (literal names like `true` excluded), in order."""
    expr = text if isinstance(text, Expr) else parse_expression(text)
    refs: list[tuple[str, ...]] = []
    stack: list[ast.AST] = [expr.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
            continue
        if isinstance(node, ast.Name | ast.Attribute):
            refs.append(_dotted(node))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return refs


def evaluate(text_or_expr: str | Expr, context: dict[str, Any]) -> bool:
    """Whether the condition holds in `context` (same shape as the template context)."""
    expr = text_or_expr if isinstance(text_or_expr, Expr) else parse_expression(text_or_expr)
    return bool(_value(expr.tree, context))


def _lookup(path: tuple[str, ...], context: dict[str, Any]) -> Any:
    value: Any = context
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _value(node: ast.AST, context: dict[str, Any]) -> Any:
    match node:
        case ast.BoolOp(op=ast.And(), values=values):
            return all(_value(v, context) for v in values)
        case ast.BoolOp(op=ast.Or(), values=values):
            return any(_value(v, context) for v in values)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _value(operand, context)
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=number)):
            return -number
        case ast.UnaryOp(operand=ast.Constant(value=number)):
            return number
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            current = _value(left, context)
            for op, comparator in zip(ops, comparators, strict=True):
                right = _value(comparator, context)
                if not _compare(op, current, right):
                    return False
                current = right
            return True
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name) if name in _LITERAL_NAMES:
            return _LITERAL_NAMES[name]
        case ast.Name() | ast.Attribute():
            return _lookup(_dotted(node), context)
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return [_value(e, context) for e in elts]
    raise ExpressionError(f"`{type(node).__name__}` is not allowed in expressions", _column(node))


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    """One comparison; type mismatches and missing values make it false instead of raising."""
    try:
        match op:
            case ast.Eq():
                return _same(left, right)
            case ast.NotEq():
                return not _same(left, right)
            case ast.Lt():
                return bool(left < right)
            case ast.LtE():
                return bool(left <= right)
            case ast.Gt():
                return bool(left > right)
            case ast.GtE():
                return bool(left >= right)
            case ast.In():
                return _contains(right, left)
            case ast.NotIn():
                return right is not None and not _contains(right, left)
            case ast.Is():
                return _contains(left, right)
    except TypeError:
        return False
    return False


def _same(left: Any, right: Any) -> bool:
    """Equality where `true` never equals `1` (Python's bool is an int)."""
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple):
        return any(_same(item, element) for element in container)
    return False
