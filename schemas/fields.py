"""Field types shared by the config models and the step kinds (kept apart to avoid import cycles)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
        description="Text with `{{ inputs.x }}`, `{{ steps.id.output }}`, `{{ steps.id.output.field }}` "
        "(nested fields and list items: `{{ steps.plan.output.sections.0.title }}`) or an expression "
        "such as `{{ join(pluck(steps.plan.output.sections, \"title\"), \", \") }}`."
    ),
]
Expression = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    Field(
        description="A condition such as `steps.review.output.approved == true`, "
        "`steps.score.output.value >= 7 and inputs.strict` or "
        "`any(steps.review.output.issues, it.severity == \"high\")`."
    ),
]

FileFormat = Literal["text", "markdown", "csv", "json"]
FILE_BYTES_CEILING = 5_000_000

RelativeFile = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./ -]{0,299}$", max_length=300),
    Field(
        description="A file next to the config, relative to its folder, e.g. `prompts/writer.md` "
        "(no absolute paths, no `..`)."
    ),
]
ArtifactName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}(\.[A-Za-z0-9]{1,8})?$"),
    Field(description="A file name such as `report.md`: letters, digits, `_`, `-` and one extension; no folders."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
