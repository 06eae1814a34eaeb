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

from schemas.checks import Check
from schemas.fields import (  # noqa: F401 (re-exported)
    FILE_BYTES_CEILING,
    ArtifactName,
    Expression,
    FileFormat,
    Identifier,
    ModelName,
    RelativeFile,
    Template,
    _Strict,
)
from schemas.steps import *  # noqa: F403  (re-exports every step kind; each lives in schemas/steps/)
from schemas.steps import Step
from schemas.steps import rebuild as rebuild_steps

CURRENT_VERSION = 2

# ---- inputs -----------------------------------------------------------------------------------


class InputSpec(_Strict):
    """A run input; the Run tab builds its form from these."""

    type: Literal["string", "text", "integer", "number", "boolean", "list", "file"] = Field(
        "string",
        description="`text` is a multi-line string; `list` is a list of strings; `file` is an uploaded "
        "file (`--input name=@path` on the CLI) whose contents enter the run: text and Markdown as "
        "text, CSV as a list of rows (objects keyed by the header), JSON as its value.",
    )
    format: FileFormat | None = Field(
        None,
        description="For a `file`: how to read it. When absent, the file's extension decides "
        "(`.md`, `.csv`, `.json`; anything else is text).",
    )
    max_bytes: int = Field(
        1_000_000, ge=1, le=FILE_BYTES_CEILING, description="For a `file`: larger files are refused."
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
    context_window: int | None = Field(
        None,
        ge=256,
        le=10_000_000,
        description="Prompt tokens the model accepts; when absent, LiteLLM's model info tells "
        "(models it does not know are not checked).",
    )


# ---- agents -----------------------------------------------------------------------------------


FieldName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    Field(
        description="An output field name as people write them: letters (any case), digits and "
        "underscores, starting with a letter, e.g. `summary`, `nextStep`, `URL`."
    ),
]
ScalarType = Literal["string", "integer", "number", "boolean"]
MAX_OUTPUT_DEPTH = 5


class OutputField(_Strict):
    """One field of a structured output: a scalar, an enum, an object of fields, or a list of them.

    Nested `fields` and `items` describe objects and lists of objects; the engine turns the tree
    into the JSON Schema the model must answer with, and the validator checks every path that a
    template or expression reads against it.
    """

    type: Literal["string", "integer", "number", "boolean", "list", "object"] = Field(
        "string", description="`list` is a list of `items`; `object` has named `fields`."
    )
    description: str = Field("", max_length=500, description="Tells the model what to put here.")
    enum: list[str] | None = Field(
        None, max_length=50, description="For a string: the only values allowed (handy for routes)."
    )
    items: ScalarType | OutputField = Field(
        "string",
        description="For a list: the type of each item, a scalar name such as `string` or a field "
        "(e.g. `{type: object, fields: {...}}` for a list of objects).",
    )
    fields: dict[FieldName, OutputField] | None = Field(
        None, max_length=50, description="For an object: its fields, each declared like an output field."
    )
    optional: bool = Field(
        False, description="The model may leave it out; readers then see `null` (empty text in prompts)."
    )

    @model_validator(mode="after")
    def _fields_only_on_objects(self) -> OutputField:
        if self.type == "object" and not self.fields:
            raise ValueError("an `object` field needs `fields`, e.g. `fields: {title: {}, score: {type: integer}}`")
        if self.fields is not None and self.type != "object":
            raise ValueError(f"`fields` only applies to `type: object`, not `{self.type}`")
        if _depth(self) > MAX_OUTPUT_DEPTH:
            raise ValueError(f"output fields nest more than {MAX_OUTPUT_DEPTH} levels deep")
        return self


def _depth(spec: OutputField) -> int:
    """How many object/list levels `spec` nests (a scalar is 1)."""
    inner = [*(spec.fields or {}).values()]
    if spec.type == "list" and isinstance(spec.items, OutputField):
        inner.append(spec.items)
    return 1 + max((_depth(f) for f in inner), default=0)


class Agent(_Strict):
    """Who does the work: a role and goal, a model, tools, and optionally a structured output."""

    role: str = Field(min_length=1, max_length=300, description="Who the agent is, e.g. `Research analyst`.")
    goal: str = Field("", max_length=2000, description="What the agent is trying to achieve.")
    instructions: str = Field(
        "", max_length=20_000, description="Extra guidance added to the agent's system prompt."
    )
    instructions_file: RelativeFile | None = Field(
        None, description="Read `instructions` from this file next to the config instead."
    )
    model: ModelName | None = Field(None, description="Overrides the workflow's `default_model`.")
    tools: list[Identifier] = Field(
        default_factory=list, max_length=20, description="Names of tools under `tools` this agent may call."
    )
    output: dict[FieldName, OutputField] | None = Field(
        None,
        max_length=50,
        description="Declare fields to get JSON back instead of text; read them as "
        "`{{ steps.<id>.output.<field> }}`, nested ones as `{{ steps.<id>.output.sections.0.title }}`.",
    )
    max_tool_calls: int = Field(5, ge=0, le=50, description="Tool calls allowed in one step of this agent.")
    on_overflow: Literal["fail", "cut_middle", "summarise"] = Field(
        "fail",
        description="When a prompt is longer than the model's context window: `fail` with the step, "
        "model, token count and biggest inputs; `cut_middle` keeps the start and end of the longest "
        "inputs; `summarise` shortens the longest inputs with `summary_model` (its cost is counted).",
    )
    summary_model: ModelName | None = Field(
        None, description="The (cheap) model that summarises inputs for `on_overflow: summarise`."
    )

    @model_validator(mode="after")
    def _summary_needs_model(self) -> Agent:
        if self.on_overflow == "summarise" and not self.summary_model:
            raise ValueError("`on_overflow: summarise` needs `summary_model` (a cheap model to summarise with)")
        return self


# ---- tools ------------------------------------------------------------------------------------


SecretName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$"),
    Field(description="A secret's name, as its environment variable is spelled, e.g. `SERPER_API_KEY`."),
]
BoundHost = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$"),
    Field(description="A host name (optionally `host:port`) a secret may be sent to, e.g. `google.serper.dev`."),
]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")]
RequestValue = Annotated[
    str | int | float | bool,
    Field(description="A literal, or a template reading `{{ params.<name> }}` or `{{ secrets.<NAME> }}`."),
]


class HttpParam(_Strict):
    """A value the agent fills in when it calls an `http` tool; it sees the type and description."""

    type: Literal["string", "integer", "number", "boolean"] = Field("string", description="The value's type.")
    description: str = Field("", max_length=500, description="Tells the agent what to put here.")
    required: bool = Field(True, description="Whether the agent must give it.")
    enum: list[str] | None = Field(None, max_length=50, description="For a string: the only values allowed.")


class HttpTool(_Strict):
    """HTTP requests to an allow-list of URL patterns only. Private addresses are always refused.

    With `url` set the agent only fills `params`; headers, `query` and a JSON `body` may read
    `{{ params.<name> }}` and `{{ secrets.<NAME> }}`. A secret is resolved at call time from the
    environment or Settings and sent only to the hosts it is bound to under `secrets`.
    """

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
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s][^\n]*$", max_length=2000)] | None = Field(
        None,
        description="The URL this tool always calls (it may read `{{ params.<name> }}`); without it the agent "
        "passes a `url` matching `allow`.",
    )
    params: dict[Identifier, HttpParam] = Field(
        default_factory=dict,
        max_length=20,
        description="Values the agent fills in. One that no template reads goes into the query string (GET) "
        "or the JSON body (POST).",
    )
    headers: dict[HeaderName, RequestValue] = Field(
        default_factory=dict,
        max_length=20,
        description="Request headers, e.g. `X-API-KEY: \"{{ secrets.SERPER_API_KEY }}\"`; a literal key is refused.",
    )
    query: dict[Annotated[str, StringConstraints(max_length=100)], RequestValue] = Field(
        default_factory=dict, max_length=20, description="Fixed query-string parameters added to every request."
    )
    body: dict[Annotated[str, StringConstraints(max_length=100)], Any] | None = Field(
        None,
        description="A JSON body sent with `Content-Type: application/json`; a string that is exactly one "
        "`{{ params.<name> }}` keeps the parameter's type.",
    )
    secrets: dict[SecretName, list[BoundHost]] = Field(
        default_factory=dict,
        max_length=10,
        description="Each secret this tool uses and the hosts it may be sent to (redirects included); "
        "its value comes from the environment variable of that name or from Settings, never from the config.",
    )


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


class FunctionTool(_Strict):
    """A Python function the server's operator installed; it runs in the app's own process."""

    type: Literal["function"]
    function: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")] = Field(
        description="The installed function's name (see Settings, or `graphwright tools`), e.g. `calculate`."
    )
    description: str = Field("", max_length=500, description="Overrides the function's own description.")
    timeout: float = Field(30, gt=0, le=120, description="Seconds before a call is abandoned.")


Tool = Annotated[HttpTool | PythonTool | AgentTool | FunctionTool, Field(discriminator="type")]


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
    checks: list[Check] = Field(
        default_factory=list,
        max_length=200,
        description="Named test cases: inputs and what the outputs must be; `graphwright test FILE` runs them.",
    )

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


OutputField.model_rebuild()
