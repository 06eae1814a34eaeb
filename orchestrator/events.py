"""The one typed event stream a run emits.

The Run tab, the CLI, run history and MLflow all consume these same objects; each is a pydantic
model with a `type` literal, so a stream serialises to JSON lines and parses back with `parse_event`.

Fields declared with `exclude_if=_unset` appear in the JSON only when set, so events that do not
use them serialise exactly as before.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def _unset(value: Any) -> bool:
    return value is None or value is False


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    seq: int = 0
    ts: float = Field(default_factory=time.time)


class RunOrigin(BaseModel):
    """Where a run's config came from, as its caller knows it (history files it with the version).

    `estimate_*` is the pre-run cost estimate (`chatbot.estimate`), kept so history can show how
    far off the estimator is; `chat_turn` is the chat turn (1-based user message) that produced
    the draft, when it came from the chat.
    """

    model_config = ConfigDict(extra="forbid")

    original: str | None = None  # the YAML text as written (None: the canonical text)
    source: str = ""  # app | cli | test | replay ...
    chat_turn: int | None = None
    chat_request: str = ""  # the person's message of that turn (shortened)
    estimate_usd: float | None = None
    estimate_worst_usd: float | None = None
    estimate_tokens: int | None = None
    estimate_worst_tokens: int | None = None


class RunVersion(RunOrigin):
    """The config a run ran, on its `RunStarted` (history stores the text once per version, not
    in the event log)."""

    original: str
    canonical: str


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    workflow: str
    config_hash: str = ""  # `schemas.versions.config_hash` of the workflow that runs
    version: RunVersion | None = None  # on a start, not on a resume
    inputs: dict[str, Any] = {}
    default_model: str = ""
    owner: str = ""
    resumed: bool = False
    # On a resume: the seqs of the earlier `StepFinished` and `LLMCall` events whose results the
    # restored checkpoint holds. The others belong to work the crash lost (it runs again), so
    # history flags them superseded. None when unknown (a checkpoint written before this field).
    accounted: list[int] | None = None
    source_run_id: str | None = Field(None, exclude_if=_unset)  # a replay: the run it re-runs steps of


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    output: Any = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    outputs: dict[str, Any] = {}  # every step's output (step id -> output); `output` is the last step's


class RunFailed(_Event):
    type: Literal["run_failed"] = "run_failed"
    reason: str  # short machine-friendly kind: provider_error, timeout, budget, config, tool, internal...
    message: str  # what happened and what to do, for people
    step_id: str | None = None
    outputs: dict[str, Any] = {}  # partial results: outputs of the steps that finished


class RunCancelled(_Event):
    type: Literal["run_cancelled"] = "run_cancelled"
    reason: str = "cancelled"  # cancelled | rejected | timeout
    outputs: dict[str, Any] = {}  # partial results: outputs of the steps that finished


class RunInterrupted(_Event):
    """The run paused (approval) or its process died; it can be resumed from its checkpoint."""

    type: Literal["run_interrupted"] = "run_interrupted"
    reason: str = "approval"
    outputs: dict[str, Any] = {}  # outputs of the steps finished so far


class StepStarted(_Event):
    type: Literal["step_started"] = "step_started"
    step_id: str
    step_type: str
    agent: str | None = None
    iteration: int | None = None
    item_index: int | None = None  # inside a map: which item (0-based)
    item_label: str | None = None  # inside a map: a short preview of the item, to name its row
    parent: str | None = None  # the composite step (parallel, map, route, loop) this one runs inside


class StepFinished(_Event):
    type: Literal["step_finished"] = "step_finished"
    step_id: str
    step_type: str
    status: Literal["ok", "failed", "skipped"] = "ok"
    duration_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    attempts: int = 1
    output_preview: str = ""
    error: str | None = None
    synthetic: bool = False  # answered by the offline model, not a real provider
    item_index: int | None = None  # inside a map: which item (0-based)
    branch: str | None = None  # route: the `when` of the case taken, or "default"
    iterations: int | None = None  # loop: how many iterations ran
    # For history (replay): the full output, which execution of the step this was (its loop rounds
    # and map item), and whether the output was served from a recorded run instead of computed.
    output: Any = Field(None, exclude_if=_unset)
    execution: str | None = Field(None, exclude_if=_unset)
    served: bool = Field(False, exclude_if=_unset)


class LLMCall(_Event):
    """One attempt at one model call: the row analytics aggregate over."""

    type: Literal["llm_call"] = "llm_call"
    step_id: str | None = None
    model: str
    provider: str = ""
    attempt: int = 1
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    unpriced: bool = False
    synthetic: bool = False  # answered by the offline model, not a real provider
    latency_s: float = 0.0
    ttft_s: float | None = None
    error: str | None = None


class Token(_Event):
    type: Literal["token"] = "token"
    step_id: str | None = None
    text: str


class ToolCall(_Event):
    type: Literal["tool_call"] = "tool_call"
    step_id: str | None = None
    tool: str
    call_id: str = ""
    arguments: dict[str, Any] = {}


class ToolResult(_Event):
    type: Literal["tool_result"] = "tool_result"
    step_id: str | None = None
    tool: str
    call_id: str = ""
    ok: bool = True
    result: str = ""


class ApprovalRequested(_Event):
    """A person must decide: approve/reject (`approval`), or answer a question (`ask`: kind "input")."""

    type: Literal["approval_requested"] = "approval_requested"
    step_id: str
    message: str
    kind: Literal["approval", "input"] = "approval"
    choices: list[str] | None = None  # an `ask` step's allowed answers


class ApprovalResolved(_Event):
    type: Literal["approval_resolved"] = "approval_resolved"
    step_id: str
    approved: bool
    feedback: str = ""


class BudgetExceeded(_Event):
    type: Literal["budget_exceeded"] = "budget_exceeded"
    limit: Literal["max_steps", "max_tokens", "max_cost_usd", "timeout_seconds"]
    limit_value: float
    used: float


class Warning(_Event):  # noqa: A001 - the event's name in the stream
    type: Literal["warning"] = "warning"
    message: str
    step_id: str | None = None


class ArtifactWritten(_Event):
    """A step wrote a named file into the run's folder (`artifact:` in the config)."""

    type: Literal["artifact_written"] = "artifact_written"
    step_id: str
    name: str
    format: str
    bytes: int
    sha256: str


Event = Annotated[
    RunStarted
    | RunFinished
    | RunFailed
    | RunCancelled
    | RunInterrupted
    | StepStarted
    | StepFinished
    | LLMCall
    | Token
    | ToolCall
    | ToolResult
    | ApprovalRequested
    | ApprovalResolved
    | BudgetExceeded
    | ArtifactWritten
    | Warning,
    Field(discriminator="type"),
]

def approval_requested(run_id: str, pending: dict[str, Any]) -> ApprovalRequested:
    """The event for a pending interrupt as the run table keeps it (an approval or a question)."""
    return ApprovalRequested(run_id=run_id, step_id=pending["step_id"], message=pending.get("message", ""),
                             kind=pending.get("kind", "approval"), choices=pending.get("choices"))


TERMINAL_TYPES = frozenset({"run_finished", "run_failed", "run_cancelled", "run_interrupted"})

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Parse one JSON line (or dict) back into its event class."""
    if isinstance(data, dict):
        return _adapter.validate_python(data)
    return _adapter.validate_json(data)


def to_json_line(event: Event) -> str:
    return event.model_dump_json()
