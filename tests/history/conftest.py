"""History fixtures: a store on a fresh data dir (helpers to emit runs live in `helpers.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from history.store import HistoryStore


@pytest.fixture
def store(data_dir: Path) -> Iterator[HistoryStore]:
    s = HistoryStore.open(data_dir, mlflow=False)
    yield s
    s.close()
