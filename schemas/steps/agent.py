"""The `agent` step: one agent answers one prompt."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from schemas.fields import Identifier, RelativeFile, Template
from schemas.steps.base import Estimator, Pair, Read, _StepBase


def _prompt_or_file(schema: dict[str, Any]) -> None:
    """In the JSON Schema, `prompt` or `prompt_file` (the loader turns the file into `prompt`)."""
    schema["required"] = [key for key in schema.get("required", []) if key != "prompt"]
    schema["anyOf"] = [{"required": ["prompt"]}, {"required": ["prompt_file"]}]


class AgentStep(_StepBase):
    """One agent answers one prompt."""

    model_config = ConfigDict(json_schema_extra=_prompt_or_file)

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

    def reads(self) -> list[Read]:
        return [Read(("prompt",), self.prompt)]

    def agents_named(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("agent",), self.agent)]

    def output_agent(self) -> str | None:
        return self.agent

    def estimate(self, est: Estimator[Any]) -> Pair[Any]:
        return est.agent(self.agent, self.prompt)

    def diagram_label(self) -> str:
        return f"{self.id}: {self.agent}"
