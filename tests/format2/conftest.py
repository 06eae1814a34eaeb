"""Format-2 construct tests reuse the engine tests' helpers (`engine_testing`, `scripted`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestrator"))

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from engine_testing import FAKE_KEYS  # noqa: E402

from orchestrator.policy import Policy  # noqa: E402
from orchestrator.runner import Engine  # noqa: E402


@pytest.fixture
def make_engine(tmp_path: Path) -> Callable[..., Engine]:
    """`make_engine(client)`: an engine on a temp data dir, with fake keys (the client is scripted)."""

    def make(client: Any = None, *, policy: Policy | None = None) -> Engine:
        return Engine(data_dir=tmp_path / "data", client=client, credentials=FAKE_KEYS, policy=policy or Policy())

    return make
