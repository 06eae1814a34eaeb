"""Ordered config migrations: each turns version N into N+1 on the raw data, before validation.

Version 1 is current, so the list is empty; a future format change appends
`Migration(1, upgrade_1_to_2)` and bumps `CURRENT_VERSION` in `schemas.models`. Old files keep
loading, and `to_yaml` writes them back in the current version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.models import CURRENT_VERSION


@dataclass(frozen=True)
class Migration:
    """Upgrades a config of version `from_version` to `from_version + 1`."""

    from_version: int
    upgrade: Callable[[dict[str, Any]], dict[str, Any]]


MIGRATIONS: tuple[Migration, ...] = ()


class MigrationProblem(ValueError):
    """The config's version cannot be brought to the current one."""


def migrate(
    data: dict[str, Any], migrations: Sequence[Migration] = MIGRATIONS, current: int = CURRENT_VERSION
) -> dict[str, Any]:
    """Apply every migration from the config's `version` up to `current`; unknown shapes pass through."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version == current:
        return data  # a missing or malformed version is reported by validation
    if version > current:
        raise MigrationProblem(
            f"config version {version} is newer than this graphwright understands ({current}): "
            "upgrade graphwright"
        )
    steps = {m.from_version: m for m in migrations}
    migrated = copy.deepcopy(data)
    while version < current:
        step = steps.get(version)
        if step is None:
            raise MigrationProblem(f"no migration from config version {version}; write `version: {current}`")
        migrated = step.upgrade(migrated)
        version += 1
        migrated["version"] = version
    return migrated
