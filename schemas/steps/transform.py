"""The `transform` step: builds a value from inputs and earlier outputs with templates; no model call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from schemas.steps.base import Read, _StepBase
from schemas.templates import find_references
from schemas.value_types import ANY, BOOLEAN, INTEGER, NUMBER, STRING, VType, list_of

if TYPE_CHECKING:
    from schemas.semantic_refs import Reader

MAX_DEPTH = 8
MAX_STRINGS = 500
_SCALARS: Mapping[type, VType] = MappingProxyType({bool: BOOLEAN, int: INTEGER, float: NUMBER})


class TransformStep(_StepBase):
    """Builds a value (text, list or object) from inputs and earlier outputs, without calling a model.

    Every string inside `value` is a template; a string that is exactly one `{{ reference }}` keeps
    the raw value (a list stays a list, an object stays an object). It costs nothing.
    """

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"value": "the value it builds"})

    type: Literal["transform"]
    value: Any = Field(
        description="The value to build: a template string, or a list or mapping whose strings are "
        "templates, e.g. `{title: '{{ inputs.topic }}', points: '{{ steps.plan.output.points }}'}`. "
        f"At most {MAX_DEPTH} levels deep and {MAX_STRINGS} strings.",
    )

    diagram_shape = "subroutine"
    guardable = False  # filling templates neither fails for a while nor takes time

    @field_validator("value")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded_value(value)

    def reads(self) -> list[Read]:
        return [Read(("value", *where), text) for where, text in value_strings(self.value)]

    def output_shape(self, reader: Reader) -> VType:
        return _type_of(self.value)

    def diagram_label(self) -> str:
        return f"{self.id}: transform"


def is_one_reference(text: str) -> bool:
    """True when `text` is exactly one `{{ reference }}` (its raw value is kept)."""
    try:
        refs = find_references(text)
    except ValueError:
        return False
    return len(refs) == 1 and not text[: refs[0].start].strip() and not text[refs[0].end :].strip()


def bounded_value(value: Any) -> Any:
    """`value` itself, when it is within the depth and size bounds."""
    count = sum(1 for _ in value_strings(value))
    if count > MAX_STRINGS:
        raise ValueError(f"the value has {count} strings; at most {MAX_STRINGS} are allowed")
    return value


def value_strings(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every string in `value`: the templates a transform or end step fills."""
    return _strings(value, ())


def _type_of(value: Any) -> VType:
    """What the built value is: objects and lists keep their shape; a lone reference is not checked."""
    if isinstance(value, str):
        return ANY if is_one_reference(value) else STRING
    if isinstance(value, list):
        kinds = [_type_of(item) for item in value]
        return list_of(kinds[0] if kinds and all(k == kinds[0] for k in kinds) else ANY)
    if isinstance(value, dict):
        return VType("object", fields={str(k): _type_of(v) for k, v in value.items()})
    return _SCALARS.get(type(value), ANY)


def _strings(value: Any, where: tuple[str | int, ...], depth: int = 0) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every string in `value`; refuses values nested too deeply."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*where, i), depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*where, str(key)), depth + 1)
