"""History fixtures: a store on a fresh data dir (helpers to emit runs live in `helpers.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from history.store import HistoryStore
from tests.history.helpers import Call, Step, record_all, run_events


@pytest.fixture
def store(data_dir: Path) -> Iterator[HistoryStore]:
    s = HistoryStore.open(data_dir, mlflow=False)
    yield s
    s.close()


@pytest.fixture
def box_store(store: HistoryStore) -> HistoryStore:
    """Alice's run a1 and bob's run b1, committed."""
    record_all(store, run_events("a1", steps=[Step("s", 1.0, [Call("m1", 0.1, 1.0)])]))
    record_all(store, run_events("b1", owner="bob", steps=[Step("s", 1.0, [Call("m1", 5.0, 1.0)])]))
    store.flush(10)
    return store
