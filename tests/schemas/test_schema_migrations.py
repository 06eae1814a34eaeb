"""Migrations run in order on raw data before validation; newer versions are refused clearly."""

from collections.abc import Callable

import pytest

from schemas.migrations import MIGRATIONS, Migration, MigrationProblem, migrate


def test_current_version_passes_through_untouched() -> None:
    data = {"version": 1, "name": "x"}
    assert migrate(data) is data
    assert MIGRATIONS == ()


def _rename_roles(data: dict) -> dict:
    data["agents"] = data.pop("roles")
    return data


def test_migrations_apply_in_order_to_a_copy() -> None:
    steps = [
        Migration(1, _rename_roles),
        Migration(2, lambda d: {**d, "name": d["name"].lower()}),
    ]
    old = {"version": 1, "name": "Old", "roles": {"a": {}}}
    assert migrate(old, steps, current=3) == {"version": 3, "name": "old", "agents": {"a": {}}}
    assert "roles" in old


def test_missing_step_and_newer_version_are_problems() -> None:
    with pytest.raises(MigrationProblem, match="no migration from config version 1"):
        migrate({"version": 1}, [], current=2)
    with pytest.raises(MigrationProblem, match="newer than this graphwright"):
        migrate({"version": 7})


def test_a_newer_version_is_reported_at_the_version_line(
    errors_of: Callable[..., list[str]], minimal: str
) -> None:
    assert errors_of(minimal.replace("version: 1", "version: 2")) == [
        "1:10: config version 2 is newer than this graphwright understands (1): upgrade graphwright"
    ]
