"""A version is what the config says: cosmetic edits keep its hash, real changes make a new one."""

from __future__ import annotations

from pathlib import Path

from schemas import load_workflow
from schemas.versions import ConfigVersion, canonical_text, config_hash

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEXT = (EXAMPLES / "brief_writer.yaml").read_text()

SMALL = """
version: 2
name: pair
agents:
  a: {role: Researcher}
  b: {role: Writer, goal: Be brief.}
steps:
  - id: one
    type: agent
    agent: a
    prompt: Facts about {{ inputs.topic }}.
  - id: two
    type: agent
    agent: b
    prompt: "Write: {{ steps.one.output }}"
inputs:
  topic: {default: tides}
"""

REWRITTEN = """# the same workflow, typed differently
name: 'pair'
version: 2
inputs:
    topic:
        default: "tides"       # a comment
agents:
    b:
        goal: Be brief.
        role: Writer
    a:
        role: Researcher

steps:
    - id: one
      agent: a
      type: agent
      prompt: "Facts about {{ inputs.topic }}."
    - prompt: 'Write: {{ steps.one.output }}'
      id: two
      type: agent
      agent: b
"""

# Step `two` first (reading only the input), then step `one`.
SWAPPED = SMALL.replace('"Write: {{ steps.one.output }}"', '"Write: {{ inputs.topic }}"').replace(
    "  - id: one\n    type: agent\n    agent: a\n    prompt: Facts about {{ inputs.topic }}.\n", "").replace(
    "inputs:\n", "  - id: one\n    type: agent\n    agent: a\n    prompt: Facts about {{ inputs.topic }}.\ninputs:\n")


def _hash(text: str) -> str:
    return config_hash(load_workflow(text))


def test_comments_whitespace_quoting_and_key_order_keep_the_hash() -> None:
    assert list(load_workflow(REWRITTEN).agents) == ["b", "a"]
    assert _hash(REWRITTEN) == _hash(SMALL)


def test_the_order_of_steps_is_a_real_change() -> None:
    in_order = SMALL.replace('"Write: {{ steps.one.output }}"', '"Write: {{ inputs.topic }}"')
    assert [s.id for s in load_workflow(SWAPPED).steps] == ["two", "one"]
    assert [s.id for s in load_workflow(in_order).steps] == ["one", "two"]
    assert _hash(in_order) != _hash(SWAPPED)


def test_writing_a_default_out_keeps_the_hash() -> None:
    explicit = TEXT.replace("    goal: Explain clearly and briefly.\n",
                            "    goal: Explain clearly and briefly.\n    max_tool_calls: 5\n", 1)
    assert "max_tool_calls: 5" in explicit
    assert _hash(explicit) == _hash(TEXT)


def test_a_real_change_makes_a_new_version() -> None:
    assert _hash(TEXT.replace("List the five", "List the six")) != _hash(TEXT)
    assert _hash(TEXT.replace("default: how tides work", "default: how tides turn")) != _hash(TEXT)


def test_editing_the_checks_keeps_the_version_their_results_are_grouped_by() -> None:
    with_checks = SMALL + "checks:\n  - name: tides\n    expect:\n      - contains: tide\n"
    edited = with_checks.replace("contains: tide", "contains: moon")
    assert _hash(with_checks) == _hash(edited) == _hash(SMALL)
    assert "contains: moon" in canonical_text(load_workflow(edited))


def test_the_canonical_text_loads_back_to_the_same_version() -> None:
    workflow = load_workflow(TEXT)
    version = ConfigVersion.of(workflow, TEXT)
    assert version.original == TEXT
    assert not [line for line in version.canonical.splitlines()[1:] if line.lstrip().startswith("#")]
    assert config_hash(load_workflow(canonical_text(workflow))) == version.hash
    assert len(version.hash) == 64 and version.short == version.hash[:8]


def test_a_stored_canonical_text_reads_back_without_its_files(tmp_path) -> None:
    from schemas import load_workflow_file
    from schemas.versions import workflow_of

    (tmp_path / "ask.md").write_text("Find the facts about {{ inputs.topic }}.")
    config = tmp_path / "wf.yaml"
    config.write_text(TEXT.replace("prompt: Find the key facts about {{ inputs.topic }}.", "prompt_file: ask.md"))
    workflow = load_workflow_file(config)
    canonical = canonical_text(workflow)
    assert "Find the facts about" in canonical  # the file's text is part of the version
    (tmp_path / "ask.md").unlink()
    assert config_hash(workflow_of(canonical)) == config_hash(workflow)
