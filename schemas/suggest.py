"""Did-you-mean hints: the closest known name, or the list of names when there are few."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], *, list_up_to: int = 8) -> str | None:
    """`did you mean `x`?` for a close match; otherwise the known names when they are few."""
    options = sorted({c for c in candidates if c != name})
    if not options:
        return None
    close = difflib.get_close_matches(str(name), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if len(options) <= list_up_to:
        return "expected one of " + ", ".join(f"`{o}`" for o in options)
    return None
