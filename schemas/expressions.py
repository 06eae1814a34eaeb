"""The condition language of `until:` and route `when:`: small, safe, never `eval`.

Grammar: dotted names with list items (`steps.plan.output.sections.0.title`, or `[0]`, `[-1]`,
`["field"]`), literals (numbers, quoted strings, `true`/`false`/`null`, `[...]` lists),
`== != < <= > >=`, `in`, `not in`, `contains`, `and`, `or`, `not`, parentheses, and the list
functions of `schemas.expr_functions` (`count(list, it.done)`, `pluck(list, "title")`, ...). The text
is parsed with Python's `ast` and every node is checked against a whitelist; evaluation walks that
tree itself under a work budget. A name with no value is `null`, and a comparison that cannot be
made (e.g. `null < 3`) is false; the validator type-checks expressions against the declared outputs
(`schemas.expr_types`) so such mistakes are reported before a run.
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
from schemas.expr_functions import FUNCTIONS, Work, as_list, call

__all__ = [
    "Expr",
    "ExpressionError",
    "evaluate",
    "evaluate_value",
    "expression_references",
    "parse_expression",
]

_LITERAL_NAMES: Mapping[str, Any] = MappingProxyType(
    {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
)
# `contains` is not Python: it is rewritten to `is` (same precedence as `in`), padded to keep columns.
_CONTAINS = "contains"
_CONTAINS_AS = "is" + " " * (len(_CONTAINS) - 2)
_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is)
_MAX_LENGTH = 2000
_KEYWORDS_RE = re.compile(r"\b(contains|is)\b")
# `a.0` is not Python: list items written with dots become `a[0]` (strings and numbers are skipped).
_INDEX_HINT_RE = re.compile(r"[\w\]]\.\d")
_INDEX_RE = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|(?<![\w.])\d[\w.]*|(?<=[\w\]])\.(\d+)(?![\w])")
ITEM_NAME = "it"


@dataclass(frozen=True)
class Expr:
    """A parsed, checked expression; evaluate it many times without parsing again.

    `columns` maps a column of the parsed source back to the text as written (the `a.0` → `a[0]`
    rewrite shifts them); empty when nothing was rewritten.
    """

    text: str
    tree: ast.expr
    columns: tuple[int, ...] = ()
    source: str = ""  # what `ast` parsed (after the rewrites)

    def show(self, node: ast.AST) -> str:
        """`node` as written (quotes kept, `a.0` not `a[0]`), for messages."""
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if self.columns and start is not None and end and "\n" not in self.text and end <= len(self.columns):
            return self.text[self.columns[start] : self.columns[end - 1] + 1]
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def column(self, node: ast.AST) -> int | None:
        """The 1-based column of `node` in `text`."""
        offset = getattr(node, "col_offset", None)
        if offset is None:
            return None
        return (self.columns[offset] if offset < len(self.columns) else offset) + 1


def parse_expression(text: str) -> Expr:
    """Parse and check `text`; raises ExpressionError with a 1-based column on anything unsupported."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty: write a condition such as `steps.review.output.approved`")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {_MAX_LENGTH} characters")
    indent = len(text) - len(text.lstrip())
    stripped = text.strip()
    source, columns = _rewrite_indexes(stripped)

    def original(column: int | None) -> int | None:
        if column is None:
            return None
        back = columns[column - 1] + 1 if columns and column - 1 < len(columns) else column
        return back + indent

    try:
        source = _rewrite_keywords(source)
        tree = ast.parse(source, mode="eval").body
        _check(tree, in_function=False)
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression `{stripped}`: {exc.msg}", original(exc.offset or None)) from None
    except ExpressionError as exc:
        raise ExpressionError(exc.reason, original(exc.column)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression is nested too deeply or too long") from None
    return Expr(stripped, tree, tuple(columns), source)


def _rewrite_indexes(text: str) -> tuple[str, list[int]]:
    """`a.0.b` → `a[0].b`, with, for each column of the result, the column it came from."""
    if not _INDEX_HINT_RE.search(text):
        return text, []
    out: list[str] = []
    columns: list[int] = []
    pos = 0
    for match in _INDEX_RE.finditer(text):
        if match.group(1) is None:
            continue
        out.append(text[pos : match.start()])
        columns.extend(range(pos, match.start()))
        digits = match.group(1)
        out.append(f"[{digits}]")
        columns.extend([match.start(), *range(match.start() + 1, match.end()), match.end() - 1])
        pos = match.end()
    out.append(text[pos:])
    columns.extend(range(pos, len(text) + 1))
    return "".join(out), columns


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


def _check(node: ast.AST, *, in_function: bool) -> None:
    """Accept only the whitelisted node types, with a message that says what to write instead."""
    match node:
        case ast.BoolOp(op=ast.And() | ast.Or(), values=values):
            for value in values:
                _check(value, in_function=in_function)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            _check(operand, in_function=in_function)
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=ast.Constant(value=int() | float())):
            pass
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            for op in ops:
                if not isinstance(op, _COMPARE_OPS):
                    raise ExpressionError("unsupported comparison", _column(node))
            _check(left, in_function=in_function)
            for comparator in comparators:
                _check(comparator, in_function=in_function)
        case ast.Constant(value=value):
            if not isinstance(value, str | int | float | bool | type(None)):
                raise ExpressionError("unsupported literal", _column(node))
        case ast.Name(id=name):
            if name == ITEM_NAME and not in_function:
                raise ExpressionError(
                    "`it` is the current item inside a list function, e.g. `any(list, it.done)`", _column(node)
                )
            if name in FUNCTIONS:
                raise ExpressionError(f"`{name}` is a function: call it, e.g. `{FUNCTIONS[name].usage}`", _column(node))
        case ast.Attribute(value=value, attr=attr):
            if attr.startswith("_"):  # no declared name starts with `_`; keeps `__class__` & co. out
                raise ExpressionError(f"`{attr}` is not a name a config can declare", _column(node))
            _check(value, in_function=in_function)
        case ast.Subscript(value=value, slice=index):
            _check(value, in_function=in_function)
            _index(index)
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            for elt in elts:
                _check(elt, in_function=in_function)
        case ast.Call():
            _check_call(node, in_function=in_function)
        case ast.BinOp():
            raise ExpressionError(
                "arithmetic is not allowed: use `== != < <= > >= in contains and or not`", _column(node)
            )
        case _:
            raise ExpressionError(f"`{type(node).__name__}` is not allowed in expressions", _column(node))


def _check_call(node: ast.Call, *, in_function: bool) -> None:
    names = ", ".join(FUNCTIONS)
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        shown = node.func.id if isinstance(node.func, ast.Name) else "this"
        raise ExpressionError(f"`{shown}` is not a function expressions know: use one of {names}", _column(node))
    function = FUNCTIONS[node.func.id]
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ExpressionError(f"write `{function.usage}` (plain arguments only)", _column(node))
    if not function.min_args <= len(node.args) <= function.max_args:
        raise ExpressionError(f"`{function.name}` takes {_arity(function)}: `{function.usage}`", _column(node))
    for index, arg in enumerate(node.args):
        if index == function.literal and not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise ExpressionError(f"argument {index + 1} of `{function.name}` must be quoted text: "
                                  f"`{function.usage}`", _column(arg))
        _check(arg, in_function=in_function or index == function.per_item)


def _arity(function: Any) -> str:
    if function.min_args == function.max_args:
        return f"{function.min_args} argument{'s' if function.min_args > 1 else ''}"
    return f"{function.min_args} to {function.max_args} arguments"


def _index(node: ast.AST) -> str:
    """The path part of `[0]`, `[-1]` or `["field"]`; anything else is refused."""
    match node:
        case ast.Constant(value=int() as number) if not isinstance(number, bool):
            return str(number)
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() as number)) if not isinstance(number, bool):
            return str(-number)
        case ast.Constant(value=str() as name):
            return name
    raise ExpressionError("`[...]` takes a whole number or a quoted field name, e.g. `[0]`, `[-1]`", _column(node))


def dotted_path(node: ast.AST) -> tuple[str, ...] | None:
    """The path of a `a.b.0.c` chain rooted at a name; None when it starts elsewhere (a call)."""
    parts: list[str] = []
    while True:
        match node:
            case ast.Attribute(value=value, attr=attr):
                parts.append(attr)
                node = value
            case ast.Subscript(value=value, slice=index):
                parts.append(_index(index))
                node = value
            case ast.Name(id=name):
                parts.append(name)
                return tuple(reversed(parts))
            case _:
                return None


def expression_references(text: str | Expr) -> list[tuple[str, ...]]:
    """Every dotted name the expression reads (literal names, functions and `it` excluded), in order."""
    expr = text if isinstance(text, Expr) else parse_expression(text)
    refs: list[tuple[str, ...]] = []
    stack: list[ast.AST] = [expr.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            stack.extend(reversed(node.args))
            continue
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            path = dotted_path(node)
            if path is not None:
                if path[0] not in _LITERAL_NAMES and path[0] != ITEM_NAME:
                    refs.append(path)
                continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return refs


def evaluate(text_or_expr: str | Expr, context: dict[str, Any]) -> bool:
    """Whether the condition holds in `context` (same shape as the template context)."""
    return bool(evaluate_value(text_or_expr, context))


def evaluate_value(text_or_expr: str | Expr, context: dict[str, Any]) -> Any:
    """The expression's value (a list, a number, text...), e.g. for a `{{ ... }}` template block."""
    expr = text_or_expr if isinstance(text_or_expr, Expr) else parse_expression(text_or_expr)
    return _Evaluator(context).value(expr.tree)


def step(value: Any, part: str) -> Any:
    """`value.<part>`: a dict key, or a list index (negative counts from the end); missing is null."""
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list | tuple):
        digits = part[1:] if part.startswith("-") else part
        if digits.isdigit() and -len(value) <= int(part) < len(value):
            return value[int(part)]
    return None


def _lookup(path: tuple[str, ...], context: dict[str, Any]) -> Any:
    value: Any = context
    for part in path:
        value = step(value, part)
        if value is None:
            return None
    return value


class _Evaluator:
    """Walks a checked tree; `it` is the innermost list function's current item."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        self.items: list[Any] = []
        self.work = Work()

    def value(self, node: ast.AST) -> Any:
        match node:
            case ast.BoolOp(op=ast.And(), values=values):
                return all(self.value(v) for v in values)
            case ast.BoolOp(op=ast.Or(), values=values):
                return any(self.value(v) for v in values)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not self.value(operand)
            case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=number)):
                return -number
            case ast.UnaryOp(operand=ast.Constant(value=number)):
                return number
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                current = self.value(left)
                for op, comparator in zip(ops, comparators, strict=True):
                    right = self.value(comparator)
                    if not _compare(op, current, right):
                        return False
                    current = right
                return True
            case ast.Constant(value=value):
                return value
            case ast.Name(id=name) if name in _LITERAL_NAMES:
                return _LITERAL_NAMES[name]
            case ast.Name(id=name) if name == ITEM_NAME and self.items:
                return self.items[-1]
            case ast.Name(id=name):
                return self.context.get(name)
            case ast.Attribute(value=base, attr=attr):
                return step(self.value(base), attr)
            case ast.Subscript(value=base, slice=index):
                return step(self.value(base), _index(index))
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [self.value(e) for e in elts]
            case ast.Call(func=ast.Name(id=name), args=args):
                return self.call(name, args)
        raise ExpressionError(f"`{type(node).__name__}` is not allowed in expressions", _column(node))

    def call(self, name: str, args: list[ast.expr]) -> Any:
        function = FUNCTIONS[name]
        items = as_list(name, self.value(args[0]))
        self.work.charge(len(items) + 1)
        per_item = None
        if function.per_item is not None and len(args) > function.per_item:
            per_item = self._per_item(args[function.per_item])
        extra = [self.value(a) for i, a in enumerate(args[1:], 1) if i != function.per_item]
        return call(name, items, per_item, extra)

    def _per_item(self, node: ast.AST) -> Any:
        def run(item: Any) -> Any:
            self.work.charge(1)
            self.items.append(item)
            try:
                return self.value(node)
            finally:
                self.items.pop()

        return run


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
