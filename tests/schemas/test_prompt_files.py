"""Prompts and instructions read from files next to the config, confined to its folder."""

from __future__ import annotations

import os
from pathlib import Path

from schemas import validate_text
from schemas.loader import load_workflow_file

CONFIG = """version: 2
name: files
agents:
  writer:
    role: Writer
    instructions_file: prompts/style.md
steps:
  - id: draft
    type: agent
    agent: writer
    prompt_file: {prompt}
"""


def _folder(tmp_path: Path, prompt: str = "prompts/writer.md") -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "writer.md").write_text("Write about {{ inputs.topic }}.\n")
    (tmp_path / "prompts" / "style.md").write_text("Short sentences.\n")
    config = tmp_path / "wf.yaml"
    config.write_text(CONFIG.format(prompt=prompt).replace("name: files", "name: files\ninputs: {topic: {}}"))
    return config


def test_the_cli_loader_reads_files_relative_to_the_config(tmp_path: Path, monkeypatch) -> None:
    config = _folder(tmp_path)
    monkeypatch.chdir("/")  # relative to the config, not to where the command runs
    wf = load_workflow_file(config)
    assert wf.steps[0].prompt == "Write about {{ inputs.topic }}.\n" and wf.steps[0].prompt_file is None
    assert wf.agents["writer"].instructions == "Short sentences.\n"


def test_a_missing_file_is_a_located_error(tmp_path: Path) -> None:
    config = _folder(tmp_path, "prompts/nope.md")
    report = validate_text(config.read_text(), str(config), base_dir=tmp_path)
    [issue] = report.errors
    assert (issue.line, issue.path) == (12, ("steps", 0, "prompt_file"))
    assert "file `prompts/nope.md` not found next to the config" in issue.message


def test_files_outside_the_folder_are_refused(tmp_path: Path) -> None:
    inside = tmp_path / "project"
    inside.mkdir()
    (tmp_path / "secret.md").write_text("outside")
    os.symlink(tmp_path / "secret.md", inside / "link.md")
    for name in ("../secret.md", "link.md", "prompts/../../secret.md"):
        config = _folder(inside, name)
        report = validate_text(config.read_text(), str(config), base_dir=inside)
        assert [i.message for i in report.errors] == [f"`{name}` is outside the config's folder"], name
    absolute = validate_text(CONFIG.format(prompt="/etc/passwd"), "wf.yaml", base_dir=inside)
    assert absolute.errors and absolute.errors[0].line == 11


def test_text_without_its_folder_is_refused_with_how_to_inline() -> None:
    report = validate_text(CONFIG.format(prompt="prompts/writer.md"), "editor")
    messages = [i.message + " " + (i.fix or "") for i in report.errors]
    assert len(messages) == 2 and all("came without its folder" in m for m in messages)
    assert any("paste the file's text under `prompt: |`" in m for m in messages)
    assert any("`instructions: |`" in m for m in messages)


def test_a_prompt_and_a_prompt_file_together_or_neither_are_errors(tmp_path: Path) -> None:
    _folder(tmp_path)
    both = CONFIG.format(prompt="prompts/writer.md") + "    prompt: inline\n"
    assert "both given" in validate_text(both, "wf.yaml", base_dir=tmp_path).errors[0].message
    neither = CONFIG.format(prompt="x").replace("    prompt_file: x\n", "")
    errors = validate_text(neither, "wf.yaml", base_dir=tmp_path).errors
    assert any("missing required key `prompt`" in e.message for e in errors)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    config = _folder(tmp_path)
    (tmp_path / "prompts" / "writer.md").write_text("x" * 20_001)
    errors = validate_text(config.read_text(), str(config), base_dir=tmp_path).errors
    assert errors and "longer than 20,000 characters" in errors[0].message


def test_two_steps_writing_one_artifact_and_file_settings_on_text_inputs_are_warned() -> None:
    report = validate_text("""version: 2
name: n
inputs:
  t: {format: csv}
agents: {a: {role: A}}
steps:
  - {id: s, type: agent, agent: a, prompt: '{{ inputs.t }}', artifact: {name: r.md}}
  - {id: u, type: agent, agent: a, prompt: p, artifact: {name: r.md}}
""")
    assert report.ok and [(w.line, w.message) for w in report.warnings] == [
        (4, "`format` only applies to `type: file`"),
        (8, "steps `s` and `u` both write `r.md`; the later write replaces it"),
    ]
