"""A short unified diff of two YAML drafts, so the user sees what a turn changed at a glance."""

from __future__ import annotations

import difflib

MAX_DIFF_LINES = 60


def yaml_diff(before: str, after: str, *, max_lines: int = MAX_DIFF_LINES) -> str:
    """A unified diff with one line of context, cut to `max_lines`; empty when nothing changed."""
    if before == after:
        return ""
    lines = list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "before.yaml", "after.yaml", n=1, lineterm=""
        )
    )
    if len(lines) > max_lines:
        hidden = len(lines) - max_lines
        lines = lines[:max_lines] + [f"... ({hidden} more diff lines)"]
    return "\n".join(lines)
