"""The workflow config as one pydantic model tree: the single source of truth.

The JSON Schema (`workflow.schema.json`), the chat's description of the format and the docs are
all generated from these classes, so a field is added here and nowhere else. Every model forbids
unknown keys, every number that bounds work has a default and a hard ceiling, and nothing in the
tree can carry a credential or an endpoint: keys and base URLs come from the environment or the
user's session, never from YAML.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from schemas.fields import Expression, Identifier, ModelName, Template, _Strict  # noqa: F401 (re-exported)
from schemas.steps import *  # noqa: F403  (re-exports every step kind; each lives in schemas/steps/)
from schemas.steps import Step
from schemas.steps import rebuild as rebuild_steps

CURRENT_VERSION = 2

# ---- inputs -----------------------------------------------------------------------------------


class InputSpec(_Strict):
    """A run input; the Run tab builds its form from these."""

    type: Literal["string", "text", "integer", "number", "boolean", "list"] = Field(
        "string", description="`text` is a multi-line string; `list` is a list of strings."
    )
    description: str = Field("", max_length=500, description="Shown next to the field in the Run form.")
    default: str | bool | int | float | list[str] | None = Field(
        None, description="Used when the run does not give a value. Without a default the input is required."
    )


# ---- models -----------------------------------------------------------------------------------


class ModelSpec(_Strict):
    """A named model alias with its call parameters, timeout, retries and fallbacks."""

    model: ModelName = Field(description="The LiteLLM model string this alias calls.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(None, ge=1, le=100_000, description="Cap on tokens generated per call.")
    timeout: float = Field(60, gt=0, le=600, description="Seconds before one call is abandoned.")
    retries: int = Field(
        2, ge=0, le=5, description="Retries on rate limits, timeouts and server errors, with backoff."
    )
    fallbacks: list[ModelName] = Field(
        default_factory=list,
        max_length=5,
        description="Tried in order when this model keeps failing: aliases or LiteLLM model strings.",
    )


# ---- agents -----------------------------------------------------------------------------------


class OutputField(_Strict):
    """One field of an agent's structured output; later steps and routes can read it."""

    type: Literal["string", "integer", "number", "boolean", "list"] = Field(
        "string", description="`list` is a list of `items`."
    )
    description: str = Field("", max_length=500, description="Tells the model what to put here.")
    enum: list[str] | None = Field(
        None, max_length=50, description="For a string: the only values allowed (handy for routes)."
    )
    items: Literal["string", "integer", "number", "boolean"] = Field(
        "string", description="For a list: the type of each item."
    )


class Agent(_Strict):
    """Who does the work: a role and goal, a model, tools, and optionally a structured output."""

    role: str = Field(min_length=1, max_length=300, description="Who the agent is, e.g. `Research analyst`.")
    goal: str = Field("", max_length=2000, description="What the agent is trying to achieve.")
    instructions: str = Field(
        "", max_length=20_000, description="Extra guidance added to the agent's system prompt."
    )
    model: ModelName | None = Field(None, description="Overrides the workflow's `default_model`.")
    tools: list[Identifier] = Field(
        default_factory=list, max_length=20, description="Names of tools under `tools` this agent may call."
    )
    output: dict[Identifier, OutputField] | None = Field(
        None,
        max_length=50,
        description="Declare fields to get JSON back instead of text; read them as "
        "`{{ steps.<id>.output.<field> }}`.",
    )
    max_tool_calls: int = Field(5, ge=0, le=50, description="Tool calls allowed in one step of this agent.")


# ---- tools ------------------------------------------------------------------------------------


class HttpTool(_Strict):
    """HTTP requests to an allow-list of URL patterns only. Private addresses are always refused."""

    type: Literal["http"]
    description: str = Field("", max_length=500, description="Tells the agent when to use this tool.")
    allow: list[Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]] = Field(
        min_length=1,
        max_length=50,
        description="URL patterns the tool may fetch; `*` matches within a path, e.g. `https://api.example.com/v1/*`.",
    )
    methods: list[Literal["GET", "POST"]] = Field(["GET"], min_length=1, description="HTTP methods allowed.")
    max_bytes: int = Field(100_000, ge=1, le=5_000_000, description="Responses are cut to this many bytes.")
    timeout: float = Field(15, gt=0, le=120, description="Seconds before a request is abandoned.")


class PythonTool(_Strict):
    """Runs Python code in a throwaway Docker container; never in the app's own process."""

    type: Literal["python"]
    description: str = Field("", max_length=500, description="Tells the agent when to use this tool.")
    image: str | None = Field(
        None,
        max_length=300,
        pattern=r"^[a-z0-9][a-z0-9._/:@-]*$",
        description="Docker image to run in; it must already be present (it is never pulled at run time).",
    )
    timeout: float = Field(10, gt=0, le=120, description="Wall-clock seconds before the container is killed.")
    memory_mb: int = Field(256, ge=32, le=2048, description="Memory limit of the container.")
    cpus: float = Field(1.0, gt=0, le=2, description="CPU limit of the container.")
    max_output_bytes: int = Field(
        65_536, ge=1024, le=1_048_576, description="stdout and stderr are each cut to this size."
    )


class AgentTool(_Strict):
    """Another agent offered as a tool, e.g. to a supervisor's manager."""

    type: Literal["agent"]
    agent: Identifier = Field(description="The agent under `agents` that answers calls to this tool.")
    description: str = Field("", max_length=500, description="Tells the calling agent when to use it.")


Tool = Annotated[HttpTool | PythonTool | AgentTool, Field(discriminator="type")]


rebuild_steps(OutputField=OutputField)


# ---- workflow ---------------------------------------------------------------------------------


class Limits(_Strict):
    """Circuit breakers for one run. Nothing is unbounded: absent values take these defaults."""

    max_steps: int = Field(50, ge=1, le=1000, description="Step executions per run, loops included.")
    max_tokens: int = Field(200_000, ge=100, le=5_000_000, description="Tokens (in + out) per run.")
    max_cost_usd: float = Field(1.0, ge=0, le=100, description="Spend per run in US dollars.")
    timeout_seconds: float = Field(600, gt=0, le=3600, description="Wall-clock time per run.")


class Workflow(_Strict):
    """An agent workflow: who the agents are, what tools they have, and the steps they follow."""

    version: Literal[2] = Field(
        description="Format version (2); version 1 files are migrated on load and the changes reported."
    )
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = Field(
        description="Short name used in run history, e.g. `brief-writer`."
    )
    description: str = Field("", max_length=2000, description="What the workflow does, for people.")
    inputs: dict[Identifier, InputSpec] = Field(
        default_factory=dict, max_length=50, description="Run inputs."
    )
    models: dict[Identifier, ModelSpec] = Field(
        default_factory=dict, max_length=50, description="Named model aliases with parameters and fallbacks."
    )
    default_model: ModelName | None = Field(
        None,
        description="Alias or LiteLLM model used by agents without their own `model`. "
        "When absent, the model chosen in Settings is used (the offline model when none is set).",
    )
    agents: dict[Identifier, Agent] = Field(min_length=1, max_length=100, description="The agents, by name.")
    tools: dict[Identifier, Tool] = Field(default_factory=dict, max_length=50, description="Tools, by name.")
    steps: list[Step] = Field(min_length=1, max_length=1000, description="What happens, in order.")
    limits: Limits = Field(default_factory=Limits, description="Per-run limits; defaults apply when absent.")

    @model_validator(mode="before")
    @classmethod
    def _upgrade_older_versions(cls, data: Any) -> Any:
        """Migrate wherever a config comes from: files, and runs stored by an older graphwright."""
        if not isinstance(data, dict) or data.get("version") == CURRENT_VERSION:
            return data
        from schemas.migrations import MigrationProblem, migrate

        try:
            return migrate(data)
        except MigrationProblem:
            return data  # the `version` field then reports the problem
