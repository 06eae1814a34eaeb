"""Field types shared by the config models and the step kinds (kept apart to avoid import cycles)."""

from __future__ import annotations

from typing import Annotated

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
