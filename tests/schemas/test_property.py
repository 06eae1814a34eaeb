"""Property: whatever is done to a valid config, loading gives a Workflow or a ConfigError.

Mutations of the examples at the text level (deleted lines, junk, aliases, tags, deep nesting,
huge strings) and at the data level (deleted keys, swapped types, junk keys). The loader's
last-resort handler ("cannot validate this config") must never be what catches them.
"""

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ConfigError, Workflow, load_workflow, to_yaml, validate_text
from schemas.safe_yaml import read_untrusted

EXAMPLES = [p.read_text() for p in sorted((Path(__file__).parent.parent.parent / "examples").glob("*.yaml"))]

JUNK = st.sampled_from(
    [
        "*alias", "&anchor x", "!!python/object/apply:os.system ['id']", "!tag", "---\n", "[" * 300,
        "{a: " * 80, "- " * 100, "\t", ": :", "? x", "'unterminated", '"\\x"', "{{ steps.", "%YAML 1.1\n",
        "x" * 70_000, "\x00", "\ud800", "api_key: sk-abcdefghijklmnop0123", "<<: *a", "null", "~", "-1e999",
    ]
)  # fmt: skip
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(EXAMPLES)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "junk", "duplicate", "indent", "truncate"]))
        if action == "delete":
            del lines[index]
        elif action == "junk":
            cut = draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:cut] + draw(JUNK) + lines[index][cut:]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "indent":
            lines[index] = " " * draw(st.integers(1, 4)) + lines[index]
        else:
            lines = lines[:index]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _paths(data: Any, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*here, index))
    return out


@st.composite
def data_mutations(draw: st.DrawFn) -> str:
    data = read_untrusted(draw(st.sampled_from(EXAMPLES))).data
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "swap", "junk_key", "wrap"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "swap":
            parent[path[-1]] = draw(VALUES)
        elif action == "junk_key" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(max_size=8))] = draw(VALUES)
        else:
            parent[path[-1]] = [parent[path[-1]]]
    return json.dumps(data)


def _check(text: str) -> None:
    report = validate_text(text)
    assert not any(i.message.startswith("cannot validate this config") for i in report.errors), report.errors
    assert (report.workflow is None) == bool(report.errors)
    try:
        workflow = load_workflow(text)
    except ConfigError as exc:
        assert exc.issues and all(i.line >= 1 and i.column >= 1 for i in exc.issues)
        return
    assert isinstance(workflow, Workflow)
    # whatever survives the mutation also survives writing it out, fresh or onto the mutated text
    assert load_workflow(to_yaml(workflow)) == workflow
    assert load_workflow(to_yaml(workflow, base_text=text)) == workflow


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_mutations())
def test_text_mutations_never_crash(text: str) -> None:
    _check(text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_mutations())
def test_data_mutations_never_crash(text: str) -> None:
    _check(text)
