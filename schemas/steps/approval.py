"""The `approval` step: a person approves or rejects before the run goes on."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from schemas.fields import Template
from schemas.steps.base import Read, _StepBase

if TYPE_CHECKING:
    from schemas.semantic_refs import Reader
    from schemas.value_types import VType


class ApprovalStep(_StepBase):
    """Pauses the run until a person approves or rejects, with optional feedback."""

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"message": "the message", "on_reject": "what a rejection does"})

    type: Literal["approval"]
    message: Template = Field(description="What the person is asked to approve.")
    on_reject: Literal["stop", "continue"] = Field(
        "stop",
        description="`stop` ends the run as rejected; `continue` goes on and later steps can read "
        "`steps.<id>.output.approved` and `.feedback`.",
    )

    diagram_shape = "hex"
    guardable = False  # waiting for a person is neither retried nor timed out
    diagram_exit = "approved"

    def reads(self) -> list[Read]:
        return [Read(("message",), self.message)]

    def output_shape(self, reader: Reader) -> VType:
        from schemas.semantic_refs import APPROVAL_TYPE

        return APPROVAL_TYPE

    def diagram_label(self) -> str:
        return f"{self.id}: approval"
