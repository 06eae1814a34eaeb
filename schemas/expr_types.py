"""Type-checks an expression against the declared outputs before the run.

A condition that can never be true because of the types it compares (`contains "no"` on a list of
objects, an object compared with a number, a field an output does not declare, `count` of a text)
would silently be false at run time; here it becomes a validation error with its column and a fix.
Unknown types (`any`: undeclared outputs, map items of unknown shape) are never reported.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.expr_functions import FUNCTIONS
from schemas.expressions import ITEM_NAME, Expr, dotted_path
from schemas.value_types import (
    ANY,
    BOOLEAN,
    INTEGER,
    NULL,
    NUMBER,
    STRING,
    VType,
    comparable,
    list_of,
    step_into,
)

# Resolves a dotted path that starts at a context name (`steps...`, `inputs...`, `loop...`) to its
# type; the caller reports unknown names itself and returns ANY for them.
Resolve = Callable[[tuple[str, ...]], VType]
_NUMERIC = frozenset({"integer", "number"})


@dataclass(frozen=True)
class TypeProblem:
    message: str
    fix: str | None
    column: int | None


@dataclass
class TypeChecker:
    """Infers the type of every node; `problems` lists what can never work."""

    expr: Expr
    resolve: Resolve
    problems: list[TypeProblem] = field(default_factory=list)
    _items: list[VType] = field(default_factory=list)

    def run(self) -> VType:
        return self.infer(self.expr.tree)

    def _problem(self, node: ast.AST, message: str, fix: str | None = None) -> VType:
        self.problems.append(TypeProblem(message, fix, self.expr.column(node)))
        return ANY

    def infer(self, node: ast.AST) -> VType:
        match node:
            case ast.BoolOp(values=values):
                for value in values:
                    self.infer(value)
                return BOOLEAN
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                self.infer(operand)
                return BOOLEAN
            case ast.UnaryOp(operand=ast.Constant(value=value)):
                return _constant(value)
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                current = self.infer(left)
                current_node: ast.AST = left
                for op, comparator in zip(ops, comparators, strict=True):
                    right = self.infer(comparator)
                    self._compare(op, current_node, current, comparator, right)
                    current, current_node = right, comparator
                return BOOLEAN
            case ast.Constant(value=value):
                return _constant(value)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                kinds = {self.infer(e) for e in elts}
                return list_of(kinds.pop() if len(kinds) == 1 else ANY)
            case ast.Call(func=ast.Name(id=name), args=args):
                return self._call(node, name, args)
            case ast.Name(id=name) if name == ITEM_NAME and self._items:
                return self._items[-1]
            case ast.Name() | ast.Attribute() | ast.Subscript():
                return self._access(node)
        return ANY

    def _access(self, node: ast.AST) -> VType:
        path = dotted_path(node)
        if path is not None and path[0] != ITEM_NAME:
            if path[0] in ("true", "false", "True", "False"):
                return BOOLEAN
            if path[0] in ("null", "None"):
                return NULL
            return self.resolve(path)
        base: ast.AST = node.value  # type: ignore[attr-defined]
        part = node.attr if isinstance(node, ast.Attribute) else _part(node)  # type: ignore[attr-defined]
        if part is None:
            return ANY
        base_type = self.infer(base)
        vtype, why = step_into(base_type, part)
        if why is not None:
            return self._problem(node, f"`{self.expr.show(base)}` {why}")
        return vtype

    def _call(self, node: ast.Call, name: str, args: list[ast.expr]) -> VType:
        function = FUNCTIONS[name]
        source = self.infer(args[0])
        if source.known and source.kind not in ("list", "null"):
            self._problem(
                args[0],
                f"`{name}` needs a list, but `{self.expr.show(args[0])}` is {source.describe()}",
                f"write e.g. `{function.usage}`",
            )
            source = ANY
        item = source.items or ANY if source.kind == "list" else ANY
        per_item = ANY
        for index, arg in enumerate(args[1:], 1):
            if index == function.per_item:
                self._items.append(item)
                try:
                    per_item = self.infer(arg)
                finally:
                    self._items.pop()
            elif index == function.literal and name == "pluck":
                per_item = self._pluck(arg, item)
            else:
                self.infer(arg)
        return function.result(source, per_item)

    def _pluck(self, arg: ast.AST, item: VType) -> VType:
        vtype = item
        for part in str(arg.value).split("."):  # type: ignore[attr-defined]
            vtype, why = step_into(vtype, part)
            if why is not None:
                return self._problem(arg, f"each item of this list is {item.describe()}: it {why}")
        return vtype

    def _compare(self, op: ast.cmpop, left_node: ast.AST, left: VType, right_node: ast.AST, right: VType) -> None:
        show = self.expr.show
        match op:
            case ast.Eq() | ast.NotEq():
                if not comparable(left, right):
                    self._problem(
                        left_node,
                        f"`{show(left_node)}` is {left.describe()} and `{show(right_node)}` is "
                        f"{right.describe()}: they are never equal",
                        _item_hint(left, show(left_node), show(right_node))
                        or _item_hint(right, show(right_node), show(left_node)),
                    )
                else:
                    self._enum(left, left_node, right_node) or self._enum(right, right_node, left_node)
            case ast.Lt() | ast.LtE() | ast.Gt() | ast.GtE():
                if left.known and right.known and "null" not in (left.kind, right.kind):
                    same = left.kind == right.kind == "string" or {left.kind, right.kind} <= _NUMERIC
                    if not same:
                        self._problem(
                            left_node,
                            f"`{show(left_node)}` is {left.describe()} and `{show(right_node)}` is "
                            f"{right.describe()}: they cannot be ordered",
                        )
            case ast.In():
                self._membership(right_node, right, left_node, left, "in")
            case ast.NotIn():
                self._membership(right_node, right, left_node, left, "not in")
            case ast.Is():  # `contains`
                self._membership(left_node, left, right_node, right, "contains")

    def _membership(self, box_node: ast.AST, box: VType, item_node: ast.AST, item: VType, word: str) -> None:
        if not box.known or box.kind == "null":
            return
        box_text, item_text = self.expr.show(box_node), self.expr.show(item_node)
        if box.kind in ("string", "object"):
            if item.known and item.kind not in ("string", "null"):
                self._problem(item_node, f"`{word}` on {box.describe()} needs text, but `{item_text}` is "
                              f"{item.describe()}")
            return
        if box.kind != "list":
            self._problem(box_node, f"`{word}` needs text or a list, but `{box_text}` is {box.describe()}")
            return
        element = box.items or ANY
        if not comparable(element, item):
            self._problem(
                box_node,
                f"`{box_text}` is {box.describe()}, so `{word} {item_text}` compares whole items with "
                f"{item.describe()} and is never true",
                _item_hint(box, box_text, item_text),
            )

    def _enum(self, vtype: VType, node: ast.AST, other: ast.AST) -> bool:
        if vtype.enum is None or not (isinstance(other, ast.Constant) and isinstance(other.value, str)):
            return False
        if other.value in vtype.enum:
            return False
        allowed = ", ".join(f'"{v}"' for v in vtype.enum)
        self._problem(other, f"`{self.expr.show(node)}` is one of {allowed}, never \"{other.value}\"")
        return True


def _constant(value: object) -> VType:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return STRING


def _part(node: ast.Subscript) -> str | None:
    index = node.slice
    if isinstance(index, ast.Constant) and isinstance(index.value, int | str):
        return str(index.value)
    if isinstance(index, ast.UnaryOp) and isinstance(index.operand, ast.Constant):
        return f"-{index.operand.value}"
    return None


def _item_hint(vtype: VType, text: str, other: str) -> str | None:
    """For a list of objects: how to test a field of its items instead."""
    if vtype.kind != "list" or vtype.items is None or vtype.items.kind != "object":
        return None
    fields = vtype.items.fields or {}
    name = next((n for n, t in fields.items() if t.kind == "string"), next(iter(fields), "field"))
    return f"test a field of each item, e.g. `any({text}, it.{name} == {other})`"
