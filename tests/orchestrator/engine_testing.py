"""Helpers of the engine tests (a uniquely named module: `conftest` is ambiguous across test dirs)."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from typing import Any

from orchestrator.credentials import Credentials
from orchestrator.events import Event
from schemas import load_workflow
from schemas.models import Workflow

FAKE_KEYS = Credentials(keys={"openai": "sk-test-not-used"})
TEST_API_KEY_ENV = "sk-test-loopback-cli-0123456789"


def workflow(text: str) -> Workflow:
    """A validated workflow from (dedented) YAML, as the app would load it."""
    return load_workflow(textwrap.dedent(text), "test.yaml")


def collect(stream: AsyncIterator[Event]) -> list[Event]:
    async def drain() -> list[Event]:
        return [event async for event in stream]

    return asyncio.run(drain())


def of_type(events: list[Event], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def with_placeholder_secrets(credentials: Credentials, wf: Workflow) -> Credentials:
    """The credentials plus a placeholder for each named secret the example's http tools read (their
    APIs are out of reach offline: the call fails and the agent carries on, as with any tool error)."""
    from orchestrator.named_secrets import needed_secrets

    for name in needed_secrets(wf):
        credentials = credentials.with_secret(name, "placeholder-not-a-key")
    return credentials
