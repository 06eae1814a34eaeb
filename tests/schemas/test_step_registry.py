"""A step kind lives in its own modules: adding one touches its files plus registration lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from orchestrator.compiler import COMPILERS
from schemas.models import Workflow
from schemas.pydantic_issues import union_members
from schemas.steps import Step

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("schemas", "orchestrator", "history", "chatbot", "ui", "graphwright")
# Generic code walks steps through the kinds' hooks; it never names a kind's class.
GENERIC = (
    "schemas/walk.py", "schemas/semantic.py", "schemas/semantic_refs.py", "schemas/semantic_resources.py",
    "orchestrator/compiler.py", "orchestrator/models_table.py", "chatbot/estimate.py", "ui/mermaid.py",
)


def _sources() -> dict[str, str]:
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def test_each_kind_is_named_in_at_most_five_files() -> None:
    sources = _sources()
    for tag, model in union_members(Step).items():
        naming = {path for path, text in sources.items() if re.search(rf"\b{model.__name__}\b", text)}
        own = {f"schemas/steps/{tag}.py", f"orchestrator/nodes/{tag}.py", "schemas/steps/__init__.py",
               "orchestrator/compiler.py"}
        files = naming | own
        assert len(files) <= 5, f"`{tag}` ({model.__name__}) is named in {sorted(files)}"
        assert not naming & set(GENERIC), f"generic code names {model.__name__}: {sorted(naming & set(GENERIC))}"


def test_every_kind_has_its_modules_and_a_compiler() -> None:
    for tag in union_members(Step):
        assert (ROOT / "schemas" / "steps" / f"{tag}.py").is_file(), tag
        assert (ROOT / "orchestrator" / "nodes" / f"{tag}.py").is_file(), tag
        assert tag in COMPILERS, f"register `{tag}` in orchestrator.compiler.COMPILERS"
    assert set(COMPILERS) == set(union_members(Step))


def test_the_workflow_steps_are_the_registered_union() -> None:
    (item,) = get_args(Workflow.model_fields["steps"].annotation)
    assert union_members(item) == union_members(Step)
