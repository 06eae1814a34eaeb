"""`graphwright validate` and `graphwright schema`: compiler-style lines and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphwright.cli import main
from schemas import workflow_schema

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "brief_writer.yaml"


@pytest.fixture
def broken(tmp_path: Path, minimal: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(minimal.replace("agent: writer", "agent: wrter"))
    return path


def test_validate_ok_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"{EXAMPLE}: ok"


def test_validate_prints_file_line_col_and_exits_one(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(EXAMPLE), str(broken)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        f"{broken}:4:3: warning: agent `writer` is never used",
        f"{broken}:9:12: unknown agent `wrter` (did you mean `writer`?)",
    ]


def test_validate_json(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(broken)]) == 1
    [result] = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert result["errors"][0] | {"message": ""} == {
        "file": str(broken), "line": 9, "column": 12, "path": ["steps", 0, "agent"],
        "message": "", "fix": "did you mean `writer`?", "severity": "error",
    }  # fmt: skip


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml:1:1: cannot read file" in capsys.readouterr().out


def test_no_sandbox_warns_about_python_tools(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLE.parent / "python_tool.yaml"
    assert main(["validate", "--no-sandbox", str(path)]) == 0
    assert "warning: python tools cannot run here" in capsys.readouterr().out


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == workflow_schema()


def test_python_dash_m_graphwright(broken: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "graphwright", "validate", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"{broken}:9:12: unknown agent `wrter`" in done.stdout


def test_schema_output_file_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "workflow.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert json.loads(target.read_text()) == workflow_schema()
    assert main(["schema", "--write"]) == 0  # the checked-in files are current: nothing to write
    assert capsys.readouterr().err == ""


def test_load_workflow_file_names_the_file(broken: Path) -> None:
    from schemas import ConfigError, load_workflow_file

    assert load_workflow_file(EXAMPLE).name == "brief-writer"
    with pytest.raises(ConfigError) as info:
        load_workflow_file(broken)
    assert info.value.issues[-1].file == str(broken)
