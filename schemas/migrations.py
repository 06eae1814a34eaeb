"""Ordered config migrations: each turns version N into N+1 on the raw data, before validation.

A migration records what it changed in plain words, so the CLI, the Design tab and the validator's
JSON output can say "upgraded from version 1: ..." instead of rewriting a file silently. Old files
keep loading, and `to_yaml` writes them back in the current version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.models import CURRENT_VERSION

Notes = list[str]


@dataclass(frozen=True)
class Migration:
    """Upgrades a config of version `from_version` to `from_version + 1`, noting each change."""

    from_version: int
    upgrade: Callable[[dict[str, Any], Notes], dict[str, Any]]


def _upgrade_1_to_2(data: dict[str, Any], notes: Notes) -> dict[str, Any]:
    """Version 2 adds constructs; the one version-1 shape it changes is a map's single `step`."""
    data = copy.deepcopy(data)
    maps = _single_step_maps(data.get("steps"))
    for found in maps:
        found["steps"] = [found.pop("step")]
    if maps:
        names = ", ".join(f"`{m.get('id', '?')}`" for m in maps)
        notes.append(f"map {names}: its `step: {{...}}` became `steps: [{{...}}]` (a map now runs a list of steps "
                     "per item; one step means the same as before)")
    else:
        notes.append("`version: 1` became `version: 2` (nothing else needed changing)")
    return data


def _single_step_maps(node: Any) -> list[dict[str, Any]]:
    """Every map of the raw step tree written the version-1 way (`step:` and no `steps:`)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for child in node:
            found += _single_step_maps(child)
    elif isinstance(node, dict):
        if node.get("type") == "map" and "step" in node and "steps" not in node:
            found.append(node)
        for child in node.values():
            found += _single_step_maps(child)
    return found


MIGRATIONS: tuple[Migration, ...] = (Migration(1, _upgrade_1_to_2),)


class MigrationProblem(ValueError):
    """The config's version cannot be brought to the current one."""


def migrate_with_notes(
    data: dict[str, Any], migrations: Sequence[Migration] = MIGRATIONS, current: int = CURRENT_VERSION
) -> tuple[dict[str, Any], Notes]:
    """Apply every migration from the config's `version` up to `current`; unknown shapes pass through.

    Returns the migrated data (a copy when anything changed) and what each migration changed.
    """
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version == current:
        return data, []  # a missing or malformed version is reported by validation
    if version > current:
        raise MigrationProblem(
            f"config version {version} is newer than this graphwright understands ({current}): "
            "upgrade graphwright"
        )
    if version < 1:
        raise MigrationProblem(f"config version {version} does not exist; write `version: {current}`")
    steps = {m.from_version: m for m in migrations}
    migrated = copy.deepcopy(data)
    notes: Notes = []
    first = version
    while version < current:
        step = steps.get(version)
        if step is None:
            raise MigrationProblem(f"no migration from config version {version}; write `version: {current}`")
        migrated = step.upgrade(migrated, notes)
        version += 1
        migrated["version"] = version
    return migrated, [f"upgraded from version {first}: {note}" for note in notes]


def migrate(
    data: dict[str, Any], migrations: Sequence[Migration] = MIGRATIONS, current: int = CURRENT_VERSION
) -> dict[str, Any]:
    """`migrate_with_notes` without the notes."""
    return migrate_with_notes(data, migrations, current)[0]
