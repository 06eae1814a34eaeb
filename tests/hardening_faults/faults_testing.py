"""Helpers the fault tests import by name (a uniquely named module: `conftest` is ambiguous
when several test folders each have one)."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from orchestrator.events import Event
from schemas import load_workflow
from schemas.models import Workflow

ROOT = Path(__file__).resolve().parents[2]


def workflow(text: str) -> Workflow:
    """A validated workflow from (dedented) YAML, as the app would load it."""
    return load_workflow(textwrap.dedent(text), "faults.yaml")


def collect(stream: AsyncIterator[Event]) -> list[Event]:
    async def drain() -> list[Event]:
        return [event async for event in stream]

    return asyncio.run(drain())


def of_type(events: list[Event], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]
