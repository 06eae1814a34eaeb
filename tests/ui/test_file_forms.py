"""The Run tab's file inputs and artifact downloads, without a server (pure mappers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import events as ev
from schemas import load_workflow
from ui.downloads import artifact_downloads, owner_folder
from ui.forms import FormError, collect, layout, read_upload
from ui.mermaid import to_mermaid
from ui.trace_view import TraceView

CONFIG = """version: 2
name: files
inputs:
  sales: {type: file, format: csv, max_bytes: 100, description: Sales rows.}
  topic: {default: sales}
agents: {a: {role: Analyst}}
steps:
  - {id: look, type: agent, agent: a, prompt: "{{ inputs.sales }}", artifact: {name: report.md}}
"""


def test_a_file_input_gets_an_upload_slot_that_states_its_format_and_cap() -> None:
    slots, _ = layout(load_workflow(CONFIG))
    assert (slots[0].kind, slots[0].label) == ("file", "sales * (file)")
    assert "csv file, up to 100 bytes" in slots[0].info and slots[1].kind == "text"


def test_an_upload_enters_the_run_as_its_contents(tmp_path: Path) -> None:
    wf = load_workflow(CONFIG)
    csv = tmp_path / "q1.csv"
    csv.write_text("region,amount\nnorth,3\n")
    upload = read_upload("sales", wf.inputs["sales"], str(csv))
    assert upload == {"name": "q1.csv", "content": "region,amount\nnorth,3\n"}
    values = collect(wf, ["", ""], [False, False], "", {"sales": upload})
    assert values["sales"] == upload and str(tmp_path) not in str(values)
    with pytest.raises(FormError, match="input 'sales' is required"):
        collect(wf, ["", ""], [False, False], "")


def test_an_oversized_or_binary_upload_is_refused_naming_the_input(tmp_path: Path) -> None:
    spec = load_workflow(CONFIG).inputs["sales"]
    big = tmp_path / "big.csv"
    big.write_text("x" * 101)
    with pytest.raises(FormError, match="input 'sales': the file is 101 bytes, over its limit of 100"):
        read_upload("sales", spec, str(big))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FormError, match="not UTF-8 text"):
        read_upload("sales", spec, str(binary))


def test_the_trace_lists_the_files_written_and_the_diagram_shows_them() -> None:
    trace = TraceView()
    trace.apply(ev.ArtifactWritten(run_id="r", step_id="look", name="report.md", format="markdown",
                                   bytes=1200, sha256="0" * 64))
    assert "Files written: report.md (1,200 bytes, from step look)" in trace.status_markdown()
    assert 'file report.md' in to_mermaid(load_workflow(CONFIG))


def test_downloads_are_copies_in_the_visitors_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "runs" / "run1" / "artifacts"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("# hi")
    paths = artifact_downloads(tmp_path / "data", "run1", "anon-ann")
    assert [Path(p).read_text() for p in paths] == ["# hi"]
    mine = str(owner_folder("anon-ann"))  # named by a hash of the owner, never the owner id itself
    assert all(p.startswith(mine) and "anon-ann" not in p and str(tmp_path) not in p for p in paths)
    assert artifact_downloads(tmp_path / "data", "../run1", "anon-ann") == []
    assert artifact_downloads(tmp_path / "data", "", "anon-ann") == []
