"""Generated files match the models, and the format description covers every field."""

import json

from pydantic import BaseModel

from schemas import describe_format, workflow_schema
from schemas.generate import REFERENCE_PATH, SCHEMA_PATH, main, reference_text, schema_text, stale_files
from schemas.models import Workflow
from schemas.pydantic_issues import union_members


def test_checked_in_schema_and_reference_are_current() -> None:
    assert stale_files() == [], "run `python -m schemas.generate` (or `graphwright schema --write`)"
    assert json.loads(SCHEMA_PATH.read_text()) == workflow_schema()
    assert REFERENCE_PATH.read_text() == reference_text()
    assert main(["--check"]) == 0


def test_schema_text_is_stable_json() -> None:
    assert schema_text() == schema_text()
    assert workflow_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert workflow_schema()["additionalProperties"] is False


def _models() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    stack: list[object] = [Workflow]
    while stack:
        tp = stack.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in found:
                continue
            found.add(tp)
            stack.extend(info.annotation for info in tp.model_fields.values())
        else:
            stack.extend(union_members(tp).values())
            stack.extend(getattr(tp, "__args__", ()))
    return found


def test_describe_format_mentions_every_model_and_field() -> None:
    text = describe_format()
    models = _models()
    assert len(models) >= 17
    for model in models:
        assert model.__name__ in text
        for name, info in model.model_fields.items():
            assert f"`{info.alias or name}`" in text, f"{model.__name__}.{name}"
    assert "## Templates" in text and "## Expressions" in text
    assert len(text) < 24_000  # it goes into the chat's system prompt: about 6k tokens at most
