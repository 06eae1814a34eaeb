"""Shortening text for people: never mid-word, always saying that something was cut."""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, ending in an ellipsis when cut.

    A single word longer than the limit (a URL, a hash) is cut where it must be.
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(ELLIPSIS), 0)
    head = text[: room + 1]
    cut = head.rstrip()[:room] if head[-1:].isspace() else head[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if space > room // 2:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:-") + ELLIPSIS
