"""The `end` step: finish the run here, with a given output; later steps do not run."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from schemas.steps.base import Checker, Read, _StepBase
from schemas.steps.transform import MAX_DEPTH, MAX_STRINGS, bounded_value, value_strings

if TYPE_CHECKING:
    from schemas.issues import Path
    from schemas.semantic_refs import Scope


class EndStep(_StepBase):
    """Finishes the run early: its `output` becomes the run's output and no later step runs.

    Put it in a route case to stop on one branch; a route case with `steps: []` instead does nothing
    and carries on.
    """

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"output": "the output"})

    type: Literal["end"]
    output: Any = Field(
        None,
        description="The run's output: a template string, or a list or mapping whose strings are "
        "templates (a string that is exactly one `{{ reference }}` keeps the raw value). "
        f"At most {MAX_DEPTH} levels deep and {MAX_STRINGS} strings.",
    )

    ends_run = True
    guardable = False  # nothing to retry or time out
    diagram_shape = "circle"

    @field_validator("output")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded_value(value)

    def reads(self) -> list[Read]:
        return [Read(("output", *where), text) for where, text in value_strings(self.output)]

    def check(self, ck: Checker, path: Path, scope: Scope) -> None:
        if scope.concurrent:
            ck.error(
                path,
                "an `end` step cannot run inside a parallel branch or a map, where other work runs at "
                "the same time",
                "put it after the parallel or map step, e.g. in a route case",
            )
        super().check(ck, path, scope)

    def diagram_label(self) -> str:
        return f"{self.id}: end"
