"""Every example config validates, round-trips byte for byte, and matches the JSON Schema."""

from pathlib import Path

import jsonschema
import pytest

from schemas import load_workflow, to_yaml, validate_text, workflow_schema
from schemas.safe_yaml import read_untrusted
from schemas.walk import all_steps

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schemas/workflow.schema.json\n"


def test_there_is_an_example_per_construct() -> None:
    kinds = set()
    for path in EXAMPLES:
        workflow = load_workflow(path.read_text(), str(path))
        kinds |= {step.type for step in all_steps(workflow)}
        kinds |= {tool.type for tool in workflow.tools.values()}
    assert len(EXAMPLES) >= 8
    assert {"agent", "parallel", "map", "route", "loop", "approval", "supervisor", "python", "http", "transform", "end"} <= kinds


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_without_warnings(path: Path) -> None:
    text = path.read_text()
    report = validate_text(text, str(path), sandbox_available=True)
    assert report.errors == [] and report.warnings == []
    assert report.ok
    assert text.startswith(MODELINE)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trips_unchanged(path: Path) -> None:
    text = path.read_text()
    workflow = load_workflow(text, str(path))
    assert to_yaml(workflow, base_text=text) == text
    assert load_workflow(to_yaml(workflow)) == workflow


def test_examples_match_the_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(workflow_schema())
    validator = jsonschema.Draft202012Validator(workflow_schema())
    for path in EXAMPLES:
        assert list(validator.iter_errors(read_untrusted(path.read_text()).data)) == [], path.name
