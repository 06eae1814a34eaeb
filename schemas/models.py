"""The workflow config as one pydantic model tree: the single source of truth.

The JSON Schema (`workflow.schema.json`), the chat's description of the format and the docs are
all generated from these classes, so a field is added here and nowhere else. Every model forbids
unknown keys, every number that bounds work has a default and a hard ceiling, and nothing in the
tree can carry a credential or an endpoint: keys and base URLs come from the environment or the
user's session, never from YAML.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CURRENT_VERSION = 2

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    Field(description="A lowercase name: letters, digits and underscores, starting with a letter."),
]
ModelName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}$", max_length=200),
    Field(
        description="A LiteLLM model string such as `openai/gpt-4o-mini` or `ollama_chat/llama3.2`, "
        "or the name of an alias under `models`."
    ),
]
Template = Annotated[
    str,
    StringConstraints(max_length=20_000),
    Field(
        description="Text with `{{ inputs.x }}`, `{{ steps.id.output }}` or `{{ steps.id.output.field }}`."
    ),
]
Expression = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    Field(
        description="A condition such as `steps.review.output.approved == true` or "
        "`steps.score.output.value >= 7 and inputs.strict`."
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


# ---- steps ------------------------------------------------------------------------------------


class _StepBase(_Strict):
    id: Identifier = Field(description="Unique step name; later steps read `{{ steps.<id>.output }}`.")
    description: str = Field("", max_length=500, description="A note for people reading the workflow.")


class AgentStep(_StepBase):
    """One agent answers one prompt."""

    type: Literal["agent"]
    agent: Identifier = Field(description="The agent under `agents` that does this step.")
    prompt: Template = Field(
        description="What the agent is asked; templates fill in inputs and earlier outputs."
    )


class ParallelStep(_StepBase):
    """Runs a fixed set of branches at the same time; the next step waits for all of them."""

    type: Literal["parallel"]
    branches: list[Step] = Field(min_length=2, max_length=32, description="Steps that run concurrently.")


class MapStep(_StepBase):
    """Runs one agent step for each item of a list produced earlier, concurrently."""

    type: Literal["map"]
    over: Template = Field(description="A template giving a list, e.g. `{{ steps.plan.output.topics }}`.")
    as_: Identifier = Field("item", alias="as", description="Name of each item inside the step's prompt.")
    step: AgentStep = Field(description="The step run for every item; its prompt may use `{{ item }}`.")
    max_items: int = Field(20, ge=1, le=100, description="Items beyond this many are not processed.")


class Classifier(_Strict):
    """An LLM picks one of the route's `when` labels."""

    prompt: Template = Field(description="What to classify; the labels are added for the model.")
    model: ModelName | None = Field(None, description="Defaults to the workflow's default model.")


class RouteCase(_Strict):
    when: str = Field(
        min_length=1,
        max_length=500,
        description="With `on`: the value to match. With `classify`: a label. Otherwise: an expression.",
    )
    steps: list[Step] = Field(min_length=1, max_length=200, description="Steps run when this case is taken.")


class RouteStep(_StepBase):
    """Chooses one branch: by a value (`on`), by an LLM (`classify`), or by expressions; else `default`."""

    type: Literal["route"]
    on: Template | None = Field(None, description="A template whose value is matched against each `when`.")
    classify: Classifier | None = Field(None, description="Let a model choose among the `when` labels.")
    cases: list[RouteCase] = Field(
        min_length=1, max_length=20, description="Checked in order; the first match runs."
    )
    default: list[Step] = Field(
        description="Steps run when no case matches; `[]` means carry on with the next step."
    )


class LoopStep(_StepBase):
    """Repeats its steps until `until` holds or `max_iterations` is reached."""

    type: Literal["loop"]
    steps: list[Step] = Field(min_length=1, max_length=200, description="The body, run once per iteration.")
    until: Expression = Field(description="Checked after each iteration; the loop ends when it is true.")
    max_iterations: int = Field(ge=1, le=50, description="Mandatory upper bound on iterations.")


class ApprovalStep(_StepBase):
    """Pauses the run until a person approves or rejects, with optional feedback."""

    type: Literal["approval"]
    message: Template = Field(description="What the person is asked to approve.")
    on_reject: Literal["stop", "continue"] = Field(
        "stop",
        description="`stop` ends the run as rejected; `continue` goes on and later steps can read "
        "`steps.<id>.output.approved` and `.feedback`.",
    )


class SupervisorStep(_StepBase):
    """A manager agent delegates sub-tasks to worker agents until it has an answer."""

    type: Literal["supervisor"]
    manager: Identifier = Field(description="The agent that plans and delegates.")
    workers: list[Identifier] = Field(
        min_length=1, max_length=10, description="Agents the manager may delegate to."
    )
    task: Template = Field(description="The overall task given to the manager.")
    max_delegations: int = Field(
        5, ge=1, le=20, description="Upper bound on delegations before it must answer."
    )


Step = Annotated[
    AgentStep | ParallelStep | MapStep | RouteStep | LoopStep | ApprovalStep | SupervisorStep,
    Field(discriminator="type"),
]


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


for _model in (ParallelStep, RouteCase, RouteStep, LoopStep, Workflow):
    _model.model_rebuild()
