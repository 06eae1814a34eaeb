"""The `agent` step: one agent answers one prompt."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from schemas.fields import Identifier, ModelName, RelativeFile, Template
from schemas.steps.base import Estimator, Pair, Read, _StepBase

if TYPE_CHECKING:
    from schemas.models import OutputField  # resolved by `schemas.steps.rebuild`
    from schemas.semantic_refs import Reader
    from schemas.value_types import VType


def _prompt_or_file(schema: dict[str, Any]) -> None:
    """In the JSON Schema, `prompt` or `prompt_file` (the loader turns the file into `prompt`)."""
    schema["required"] = [key for key in schema.get("required", []) if key != "prompt"]
    schema["anyOf"] = [{"required": ["prompt"]}, {"required": ["prompt_file"]}]


class AgentStep(_StepBase):
    """One agent answers one prompt."""

    model_config = ConfigDict(json_schema_extra=_prompt_or_file)

    # How `graphwright diff` names this kind's fields (`schemas.config_diff`).
    diff_words = MappingProxyType({"agent": "the agent", "prompt": "the prompt", "prompt_file": "the prompt file", "model": "the model", "output": "the structured output", "temperature": "the temperature", "max_tokens": "the answer cap (max_tokens)"})
    diff_unset_model = MappingProxyType({"model": "its agent's model"})

    type: Literal["agent"]
    agent: Identifier = Field(description="The agent under `agents` that does this step.")
    prompt: Template = Field(
        description="What the agent is asked; templates fill in inputs and earlier outputs."
    )
    prompt_file: RelativeFile | None = Field(
        None,
        description="Read `prompt` from this file next to the config instead (it may hold templates); "
        "the loader puts the file's text in `prompt`.",
    )
    model: ModelName | None = Field(
        None, description="This step's model (alias or LiteLLM string), instead of the agent's."
    )
    output: dict[Identifier, OutputField] | None = Field(
        None,
        max_length=50,
        description="This step's structured output, instead of the agent's: one persona can serve "
        "several tasks. Read the fields as `{{ steps.<id>.output.<field> }}`.",
    )
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature for this step.")
    max_tokens: int | None = Field(
        None, ge=1, le=100_000, description="Cap on tokens generated per call in this step."
    )

    def reads(self) -> list[Read]:
        return [Read(("prompt",), self.prompt)]

    def settings(self) -> dict[str, Any]:
        """This step's own settings that override the agent's (model, output, parameters)."""
        names = ("model", "output", "temperature", "max_tokens")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def models_named(self) -> list[tuple[tuple[str | int, ...], str | None]]:
        return [(("model",), self.model)] if self.model else []

    def output_shape(self, reader: Reader) -> VType:
        if self.output:  # this step's own fields, instead of its agent's
            from schemas.value_types import from_fields

            return from_fields(self.output)
        return super().output_shape(reader)

    def agents_named(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("agent",), self.agent)]

    def output_agent(self) -> str | None:
        return self.agent

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        return est.agent(self.agent, self.prompt, self.settings())

    def diagram_label(self) -> str:
        return f"{self.id}: {self.agent}"
