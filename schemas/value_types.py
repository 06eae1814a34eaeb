"""The static types of values that templates and expressions read, built from the declarations.

A `VType` is what the validator knows about a value before the run: a step's declared `output`
fields (nested objects, lists of objects, enums, optional fields), an input's type, plain text, or
`any` when nothing is declared (then nothing is checked). Reading a path walks the type, so
`steps.plan.output.sections.0.title` is checked field by field with a message that says where it
went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the models import the step kinds, which import this module
    from schemas.models import InputSpec, OutputField

Kind = Literal["string", "integer", "number", "boolean", "list", "object", "null", "any"]


@dataclass(frozen=True)
class VType:
    """A value's kind, with item type (lists), fields (objects) and allowed values (enums)."""

    kind: Kind
    items: VType | None = None
    fields: Mapping[str, VType] | None = None
    enum: tuple[str, ...] | None = None

    @property
    def known(self) -> bool:
        return self.kind != "any"

    def describe(self) -> str:
        """Plain words for messages: `a list of objects (title, score)`."""
        match self.kind:
            case "list":
                return "a list" if self.items is None or not self.items.known else f"a list of {_plural(self.items)}"
            case "object":
                names = ", ".join(list(self.fields or {})[:6])
                return f"an object ({names})" if names else "an object"
            case "integer":
                return "an integer"
            case "any":
                return "a value"
            case "null":
                return "null"
        return f"a {self.kind}"


def _plural(item: VType) -> str:
    if item.kind == "object":
        names = ", ".join(list(item.fields or {})[:6])
        return f"objects ({names})" if names else "objects"
    return {"integer": "integers", "number": "numbers", "boolean": "booleans", "string": "strings"}.get(
        item.kind, "values"
    )


ANY = VType("any")
STRING = VType("string")
INTEGER = VType("integer")
NUMBER = VType("number")
BOOLEAN = VType("boolean")
NULL = VType("null")
ANY_LIST = VType("list", ANY)


def list_of(item: VType) -> VType:
    return VType("list", item)


def from_field(spec: OutputField) -> VType:
    """The type of one declared output field."""
    match spec.type:
        case "list":
            item = spec.items
            return list_of(VType(item) if isinstance(item, str) else from_field(item))
        case "object":
            return from_fields(spec.fields or {})
        case "string":
            return VType("string", enum=tuple(spec.enum) if spec.enum else None)
    return VType(spec.type)


def from_fields(fields: Mapping[str, OutputField]) -> VType:
    """The type of an object with these declared fields (an agent's whole `output`)."""
    return VType("object", fields={name: from_field(spec) for name, spec in fields.items()})


def from_input(spec: InputSpec) -> VType:
    if spec.type == "text":
        return STRING
    if spec.type == "list":
        return list_of(STRING)
    return VType(spec.type)


def index_part(part: str) -> int | None:
    """`0`, `12`, `-1` as a list index; None for a field name."""
    digits = part[1:] if part.startswith("-") else part
    return int(part) if digits.isdigit() else None


def step_into(vtype: VType, part: str) -> tuple[VType, str | None]:
    """The type of `value.<part>`, or (ANY, why it cannot be read)."""
    if not vtype.known:
        return ANY, None
    if vtype.kind == "object":
        if vtype.fields is None:
            return ANY, None
        if part in vtype.fields:
            return vtype.fields[part], None
        return ANY, f"has no field `{part}`"
    if vtype.kind == "list":
        if index_part(part) is not None:
            return vtype.items or ANY, None
        return ANY, f"is {vtype.describe()}: read an item with `.0`, or every `{part}` with `pluck(..., \"{part}\")`"
    return ANY, f"is {vtype.describe()}: it has no `{part}`"


def comparable(left: VType, right: VType) -> bool:
    """Whether `==` between the two can ever be true (unknown and null compare with anything)."""
    if not left.known or not right.known or "null" in (left.kind, right.kind):
        return True
    numeric = {"integer", "number"}
    if left.kind in numeric and right.kind in numeric:
        return True
    return left.kind == right.kind
