"""`graphwright diff A.yaml B.yaml` prints the plain-words diff and the cost change, exit status as diff's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphwright.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "review_loop.yaml"


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    path = tmp_path / "review5.yaml"
    path.write_text(EXAMPLE.read_text().replace("max_iterations: 3", "max_iterations: 5"))
    return path


def test_diff_prints_the_change_and_the_cost_change(edited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(EXAMPLE), str(edited), "--model", "openai/gpt-4o-mini"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "- loop `revise` may run 5 times instead of 3"
    assert lines[2] == "" and lines[3].startswith("Estimated cost per run: expected $0.0016 (unchanged), worst case $0.0023 → $0.0036")


def test_diff_of_a_cosmetic_edit_is_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = tmp_path / "same.yaml"
    same.write_text("# a new comment\n" + EXAMPLE.read_text().replace("\n\n", "\n"))
    assert main(["diff", str(EXAMPLE), str(same)]) == 0
    assert "No change" in capsys.readouterr().out


def test_diff_json_and_a_broken_file(edited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--format", "json", str(EXAMPLE), str(edited)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [c["text"] for c in data["changes"]] == ["loop `revise` may run 5 times instead of 3"]
    assert data["cost_per_run_usd"]["worst"] == [0.0, 0.0]  # the offline model prices nothing
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\nname: x\n")
    assert main(["diff", str(EXAMPLE), str(broken)]) == 2
    assert "broken.yaml" in capsys.readouterr().err


def test_diff_does_not_import_the_heavy_libraries(edited: Path) -> None:
    code = ("import sys; from graphwright.cli import main; main(['diff', sys.argv[1], sys.argv[2]]); "
            "print(sorted(m for m in ('gradio', 'pandas', 'litellm', 'langgraph') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(edited)], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
