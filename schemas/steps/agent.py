"""The `agent` step: one agent answers one prompt."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.fields import Identifier, Template
from schemas.steps.base import Estimator, Pair, Read, _StepBase


class AgentStep(_StepBase):
    """One agent answers one prompt."""

    type: Literal["agent"]
    agent: Identifier = Field(description="The agent under `agents` that does this step.")
    prompt: Template = Field(
        description="What the agent is asked; templates fill in inputs and earlier outputs."
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
