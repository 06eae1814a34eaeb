"""`calculate`: exact arithmetic for agents, without `eval` (models are bad at long sums)."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Annotated

from pydantic import Field

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_EXPONENT = 100  # `9**9**9` would hang the app's process


def calculate(
    expression: Annotated[str, Field(max_length=500, description="Arithmetic such as `200*7` or `(5000/2)*10`.")],
) -> float | int:
    """Evaluate an arithmetic expression (+ - * / // % ** and parentheses) and return the number."""
    return _value(ast.parse(expression.strip(), mode="eval").body)


def _value(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponents above {MAX_EXPONENT} are not allowed")
        return _BINARY[type(node.op)](left, right)
    raise ValueError(f"only numbers and + - * / // % ** are allowed, not `{ast.unparse(node)}`")
