"""The whitelisted list functions of expressions: what each does at run time and what it returns.

    count(list[, cond])   any(list[, cond])   all(list[, cond])   filter(list, cond)
    pluck(list, "field")  sort(list[, key][, "desc"])   take(list, k)   first(list)   last(list)
    join(list[, sep])     sum(list[, key])    min(list[, key])    max(list[, key])

`cond` and `key` are expressions evaluated once per item with the item bound to `it`
(`any(steps.review.output.issues, it.severity == "high")`). Every function walks its list once (sort:
n log n), and the evaluator charges each visited item to a budget, so no expression does unbounded
work. A missing list (`null`) counts as empty; anything else that is not a list is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from schemas.errors import ExpressionError
from schemas.value_types import ANY, BOOLEAN, INTEGER, NUMBER, STRING, VType, list_of

MAX_WORK = 200_000  # items visited by one evaluation, across all its function calls


@dataclass(frozen=True)
class Function:
    """One function: its argument count, which argument is evaluated per item, and its result type."""

    name: str
    min_args: int
    max_args: int
    per_item: int | None  # index of the argument evaluated once per item with `it`, if any
    literal: int | None  # index of an argument that must be a quoted string (pluck's field, sort's order)
    result: Callable[[VType, VType], VType]  # (list type, per-item argument type) -> result type
    usage: str


def _items(t: VType) -> VType:
    return t.items or ANY if t.kind == "list" else ANY


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        f.name: f
        for f in (
            Function("count", 1, 2, 1, None, lambda t, k: INTEGER, "count(list) or count(list, it.done)"),
            Function("any", 1, 2, 1, None, lambda t, k: BOOLEAN, "any(list, it.severity == \"high\")"),
            Function("all", 1, 2, 1, None, lambda t, k: BOOLEAN, "all(list, it.score >= 7)"),
            Function("filter", 2, 2, 1, None, lambda t, k: t if t.kind == "list" else list_of(ANY),
                     "filter(list, it.keep == true)"),
            Function("pluck", 2, 2, None, 1, lambda t, k: list_of(k), "pluck(list, \"title\")"),
            Function("sort", 1, 3, 1, 2, lambda t, k: t if t.kind == "list" else list_of(ANY),
                     "sort(list, it.score, \"desc\")"),
            Function("take", 2, 2, None, None, lambda t, k: t if t.kind == "list" else list_of(ANY),
                     "take(list, 3)"),
            Function("first", 1, 1, None, None, lambda t, k: _items(t), "first(list)"),
            Function("last", 1, 1, None, None, lambda t, k: _items(t), "last(list)"),
            Function("join", 1, 2, None, None, lambda t, k: STRING, "join(list, \", \")"),
            Function("sum", 1, 2, 1, None, lambda t, k: NUMBER, "sum(list, it.cost)"),
            Function("min", 1, 2, 1, None, lambda t, k: k if k.known else _items(t), "min(list, it.score)"),
            Function("max", 1, 2, 1, None, lambda t, k: k if k.known else _items(t), "max(list, it.score)"),
        )
    }
)


class Work:
    """The budget of one evaluation: every item a function visits costs one unit."""

    def __init__(self) -> None:
        self.left = MAX_WORK

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise ExpressionError(f"expression does too much work (more than {MAX_WORK} list items visited)")


def as_list(name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    kind = "text" if isinstance(value, str) else "an object" if isinstance(value, dict) else type(value).__name__
    raise ExpressionError(f"`{name}` needs a list, got {kind}")


def pluck_path(item: Any, path: str) -> Any:
    """`item.a.b` for a dotted field path; missing parts give null."""
    value = item
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    """Nulls last, numbers before text, so mixed lists sort without raising."""
    if value is None:
        return (3, 0)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, str(value))


def _text(value: Any) -> str:
    from schemas.templates import to_text

    return to_text(value)


def call(name: str, items: list[Any], per_item: Callable[[Any], Any] | None, extra: list[Any]) -> Any:
    """Run function `name` on `items`; `per_item` evaluates the cond/key argument for one item."""
    key = per_item or (lambda item: item)
    match name:
        case "count":
            return sum(1 for item in items if key(item)) if per_item else len(items)
        case "any":
            return any(key(item) for item in items)
        case "all":
            return all(key(item) for item in items)
        case "filter":
            return [item for item in items if key(item)]
        case "pluck":
            return [pluck_path(item, str(extra[0])) for item in items]
        case "sort":
            order = str(extra[0]).lower() if extra else "asc"
            if order not in ("asc", "desc"):
                raise ExpressionError("`sort` order must be \"asc\" or \"desc\"")
            return sorted(items, key=lambda item: _sort_key(key(item)), reverse=order == "desc")
        case "take":
            count = extra[0]
            if isinstance(count, bool) or not isinstance(count, int):
                raise ExpressionError("`take` needs a whole number of items, e.g. `take(list, 3)`")
            return items[: max(0, count)]
        case "first":
            return items[0] if items else None
        case "last":
            return items[-1] if items else None
        case "join":
            separator = _text(extra[0]) if extra else ", "
            return separator.join(_text(item) for item in items if item is not None)
        case "sum":
            return sum(v for v in map(key, items) if isinstance(v, int | float) and not isinstance(v, bool))
        case "min" | "max":
            values = [v for v in map(key, items) if v is not None]
            if not values:
                return None
            pick = min if name == "min" else max
            return pick(values, key=_sort_key)
    raise ExpressionError(f"unknown function `{name}`")
