"""Where a Space keeps its history: the persistent disk when attached, else a warning that says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.paths import NOT_PERSISTENT, PERSISTENT_ENV, data_dir, persistent_dir, storage_warning


def test_the_persistent_disk_is_the_data_dir_when_attached(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    env = {"SPACE_ID": "o/s", PERSISTENT_ENV: str(disk)}
    assert persistent_dir(env) == disk
    assert data_dir(env) == disk.resolve()
    assert storage_warning(data_dir(env), env) is None


def test_without_persistent_storage_a_space_says_history_is_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"SPACE_ID": "o/s", PERSISTENT_ENV: str(tmp_path / "not-attached")}
    assert persistent_dir(env) is None
    assert data_dir(env) == (tmp_path / "data").resolve()
    assert storage_warning(data_dir(env), env) == NOT_PERSISTENT
    assert "history is lost on restart: enable persistent storage" in NOT_PERSISTENT


def test_off_a_space_there_is_no_warning_and_the_explicit_data_dir_wins(tmp_path: Path) -> None:
    assert storage_warning(tmp_path, {}) is None
    chosen = tmp_path / "chosen"
    assert data_dir({"GRAPHWRIGHT_DATA_DIR": str(chosen), PERSISTENT_ENV: str(tmp_path)}) == chosen.resolve()
