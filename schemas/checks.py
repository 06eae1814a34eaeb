"""`checks:` — named cases a workflow carries with it: inputs, and what its output must be.

`graphwright test FILE` (and the Run tab's "Run checks") run each case through the engine and
grade the outputs. An expectation names one kind by its key (`- contains: tide`), which reads
better in YAML than a `type:` tag and keeps error locations plain (`checks.0.expect.1.regex`); the
model checks that exactly one kind is given. Checks add to format version 2: a file without them
is unchanged.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, field_validator, model_validator

from schemas.fields import Identifier, ModelName, _Strict

CheckName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$"),
    Field(description="A short name for the case, shown in reports, e.g. `short topic` or `empty-input`."),
]
FieldPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,9}$"),
    Field(description="A dotted path into a structured output, e.g. `score` or `sections.0.title`."),
]
CheckValue = Annotated[
    str | bool | int | float | list[Any] | dict[str, Any],
    Field(description="A literal value: text, number, boolean, list or mapping."),
]
KINDS = ("equals", "contains", "regex", "shape", "bounds", "judge")


class Expectation(_Strict):
    """One expectation on the final output, on a step's output (`step`), or on a field (`field`).

    Give exactly one of `equals`, `contains`, `regex`, `shape`, `judge`, or numeric bounds
    (`min` and/or `max`).
    """

    # How `graphwright diff` names these fields (`schemas.config_diff`).
    diff_words: ClassVar[MappingProxyType[str, str]] = MappingProxyType({
        "step": "the step checked", "field": "the field checked", "equals": "the expected value",
        "contains": "the text it must contain", "regex": "the pattern it must match", "shape": "the JSON shape",
        "min": "the lowest allowed value", "max": "the highest allowed value", "judge": "the judge's criterion",
        "model": "the judge's model",
    })

    step: Identifier | None = Field(
        None, description="The step whose output is checked; without it, the run's final output."
    )
    field: FieldPath | None = Field(None, description="A field of that output (a structured output's field).")
    equals: CheckValue | None = Field(
        None, description="The value must equal this exactly (text is compared after trimming outer whitespace)."
    )
    contains: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        None, description="The text (or JSON text of a structured value) must contain this, ignoring case."
    )
    regex: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        None, description="A Python regular expression the text must match somewhere (`re.search`)."
    )
    shape: dict[str, Any] | None = Field(
        None,
        description="A JSON Schema the value must satisfy, e.g. `{type: object, required: [title]}`.",
    )
    min: float | None = Field(None, description="The value must be a number at least this.")
    max: float | None = Field(None, description="The value must be a number at most this.")
    judge: Annotated[str, StringConstraints(min_length=3, max_length=2000)] | None = Field(
        None,
        description="A criterion in plain words (e.g. `The answer is polite and names the refund policy`); "
        "a model answers whether the output meets it, with a reason. Its cost is counted apart from the run's.",
    )
    model: ModelName | None = Field(
        None,
        description="For a `judge`: the model that judges; without it, the workflow's `default_model` (or the "
        "model chosen in Settings). `--model` does not change it.",
    )

    @property
    def kind(self) -> str:
        """Which of `KINDS` this expectation is (validated to be exactly one)."""
        return _kinds(self)[0]

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("shape")
    @classmethod
    def _is_a_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            import jsonschema

            try:
                jsonschema.Draft202012Validator.check_schema(value)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Expectation:
        kinds = _kinds(self)
        if not kinds:
            raise ValueError("say what to expect: one of `equals`, `contains`, `regex`, `shape`, `judge`, "
                             "or `min`/`max`")
        if len(kinds) > 1:
            raise ValueError(f"one expectation per entry, not {' and '.join(kinds)}: split them into "
                             "separate entries of `expect`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min:g}) is above `max` ({self.max:g})")
        if self.model is not None and self.judge is None:
            raise ValueError("`model` only applies to a `judge`")
        return self


def _kinds(e: Expectation) -> list[str]:
    given = {"equals": e.equals, "contains": e.contains, "regex": e.regex, "shape": e.shape, "judge": e.judge}
    kinds = [k for k, v in given.items() if v is not None]
    if e.min is not None or e.max is not None:
        kinds.insert(4, "bounds")
    return kinds


class Check(_Strict):
    """A named case: the run inputs, what the outputs must be, and caps on what the run may cost."""

    # How `graphwright diff` names these fields (`schemas.config_diff`).
    diff_words: ClassVar[MappingProxyType[str, str]] = MappingProxyType({
        "name": "the name", "description": "the description", "inputs": "the inputs", "expect": "the expectations",
        "max_cost_usd": "the cost cap (USD)", "max_tokens": "the token cap", "max_latency_s": "the time cap (s)",
        "repeat": "the repeats", "pass_threshold": "the share of repeats that must pass",
    })

    name: CheckName
    description: str = Field("", max_length=500, description="What the case is about, for people.")
    inputs: dict[Identifier, CheckValue] = Field(
        default_factory=dict, max_length=50,
        description="The run inputs (declared under the workflow's `inputs`); a `file` input takes the file's text.",
    )
    expect: list[Expectation] = Field(
        default_factory=list, max_length=50, description="Every expectation must hold for the case to pass."
    )
    max_cost_usd: float | None = Field(None, ge=0, le=100, description="The run (judges apart) may cost at most this.")
    max_tokens: int | None = Field(None, ge=1, le=5_000_000, description="The run may use at most this many tokens.")
    max_latency_s: float | None = Field(None, gt=0, le=3600, description="The run may take at most this many seconds.")
    repeat: int = Field(
        1, ge=1, le=20, description="Run the case this many times (for flaky judges or sampling models)."
    )
    pass_threshold: float = Field(
        1.0, gt=0, le=1,
        description="The share of the `repeat` runs that must pass for the case to pass, e.g. `0.66`.",
    )

    @model_validator(mode="after")
    def _says_something(self) -> Check:
        if not self.expect and self.max_cost_usd is None and self.max_tokens is None and self.max_latency_s is None:
            raise ValueError(f"check `{self.name}` expects nothing: add `expect` entries or a cap "
                             "(`max_cost_usd`, `max_tokens`, `max_latency_s`)")
        return self

    @property
    def needed_passes(self) -> int:
        """How many of the `repeat` runs must pass (the threshold rounded up, at least one)."""
        import math

        return max(1, math.ceil(self.pass_threshold * self.repeat - 1e-9))
