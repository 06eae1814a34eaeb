"""The `ask` step: the run pauses to ask a person a question; the answer is the step's output."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from schemas.fields import Template
from schemas.steps.base import Read, _StepBase

if TYPE_CHECKING:
    from schemas.semantic_refs import Reader
    from schemas.value_types import VType

Choice = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AskStep(_StepBase):
    """Pauses the run to ask a person a question (free text or one of `choices`); later steps read the answer."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"question": "the question", "choices": "the choices"})

    type: Literal["ask"]
    question: Template = Field(description="What the person is asked; templates fill in earlier outputs.")
    choices: list[Choice] | None = Field(
        None, min_length=2, max_length=20,
        description="When given, the answer must be one of these (read it in a route with `on`).",
    )

    diagram_shape = "hex"
    guardable = False  # waiting for a person is neither retried nor timed out

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices: list[str] | None) -> list[str] | None:
        if choices is not None and len({c.strip().lower() for c in choices}) != len(choices):
            raise ValueError("choices must differ from each other (case and spaces aside)")
        return choices

    def reads(self) -> list[Read]:
        return [Read(("question",), self.question)]

    def output_shape(self, reader: Reader) -> VType:
        from schemas.value_types import VType

        return VType("string", enum=tuple(self.choices) if self.choices else None)

    def diagram_label(self) -> str:
        return f"{self.id}: ask a person"


def matching_choice(answer: str, choices: list[str] | None) -> str | None:
    """The choice an answer names (case and spaces ignored); the answer itself when any text goes."""
    answer = answer.strip()
    if choices is None:
        return answer or None
    return next((c for c in choices if c.strip().lower() == answer.lower()), None)
