"""Helpers for config tests: a minimal valid config and issue lists as `line:col: message` strings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas import Issue, validate_text

MINIMAL = """\
version: 1
name: demo
agents:
  writer:
    role: Writer
steps:
  - id: draft
    type: agent
    agent: writer
    prompt: Write.
"""


def _show(issue: Issue) -> str:
    return f"{issue.line}:{issue.column}: {issue.message}" + (f" ({issue.fix})" if issue.fix else "")


@pytest.fixture
def errors_of() -> Callable[..., list[str]]:
    """`errors_of(text)` -> every error as `line:col: message (fix)`, in file order."""

    def run(text: str, **kwargs: object) -> list[str]:
        return [_show(i) for i in validate_text(text, "t.yaml", **kwargs).errors]  # type: ignore[arg-type]

    return run


@pytest.fixture
def warnings_of() -> Callable[..., list[str]]:
    def run(text: str, **kwargs: object) -> list[str]:
        return [_show(i) for i in validate_text(text, "t.yaml", **kwargs).warnings]  # type: ignore[arg-type]

    return run


@pytest.fixture
def minimal() -> str:
    return MINIMAL
