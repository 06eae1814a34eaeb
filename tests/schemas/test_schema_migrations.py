"""Migrations run in order on raw data before validation, say what they changed, and refuse newer versions."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import CURRENT_VERSION, validate_text
from schemas.migrations import Migration, MigrationProblem, migrate, migrate_with_notes

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def test_current_version_passes_through_untouched() -> None:
    data = {"version": CURRENT_VERSION, "name": "x"}
    assert migrate(data) is data
    assert migrate_with_notes(data) == (data, [])


def _rename_roles(data: dict, notes: list[str]) -> dict:
    data["agents"] = data.pop("roles")
    notes.append("`roles` became `agents`")
    return data


def test_migrations_apply_in_order_to_a_copy_and_report_changes() -> None:
    steps = [
        Migration(1, _rename_roles),
        Migration(2, lambda d, notes: {**d, "name": d["name"].lower()}),
    ]
    old = {"version": 1, "name": "Old", "roles": {"a": {}}}
    migrated, notes = migrate_with_notes(old, steps, current=3)
    assert migrated == {"version": 3, "name": "old", "agents": {"a": {}}}
    assert notes == ["upgraded from version 1: `roles` became `agents`"]
    assert "roles" in old


def test_missing_step_and_newer_version_are_problems() -> None:
    with pytest.raises(MigrationProblem, match="no migration from config version 1"):
        migrate({"version": 1}, [], current=2)
    with pytest.raises(MigrationProblem, match="newer than this graphwright"):
        migrate({"version": 7})
    with pytest.raises(MigrationProblem, match="does not exist"):
        migrate({"version": 0})


def test_a_newer_version_is_reported_at_the_version_line(
    errors_of: Callable[..., list[str]], minimal: str
) -> None:
    newer = CURRENT_VERSION + 1
    assert errors_of(minimal.replace("version: 1", f"version: {newer}")) == [
        f"1:10: config version {newer} is newer than this graphwright understands ({CURRENT_VERSION}): "
        "upgrade graphwright"
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_still_loads_as_version_1_with_a_report(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert f"version: {CURRENT_VERSION}\n" in text
    report = validate_text(text.replace(f"version: {CURRENT_VERSION}\n", "version: 1\n", 1), path.name)
    assert report.ok, report.errors
    assert report.workflow is not None and report.workflow.version == CURRENT_VERSION
    assert report.upgraded and report.upgraded[0].startswith("upgraded from version 1: ")


def test_cli_validate_reports_the_upgrade_in_text_and_json(tmp_path: Path, minimal: str) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(minimal, encoding="utf-8")  # the suite's minimal config is a version 1 file
    text = subprocess.run([sys.executable, "-m", "graphwright", "validate", str(old)],
                          capture_output=True, text=True, check=True)
    assert f"{old}: upgraded from version 1: " in text.stderr
    as_json = subprocess.run([sys.executable, "-m", "graphwright", "validate", "--format", "json", str(old)],
                             capture_output=True, text=True, check=True)
    [entry] = json.loads(as_json.stdout)
    assert entry["ok"] and entry["upgraded"][0].startswith("upgraded from version 1: ")
