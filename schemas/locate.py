"""Turns YAML paths (and offsets inside a template string) into 1-based line and column."""

from __future__ import annotations

import bisect
import re
from typing import Literal

from schemas.issues import Issue, Path
from schemas.safe_yaml import Document, Position


class Locator:
    """Builds `Issue`s at the best known position for a path, walking up to a parent if needed."""

    def __init__(self, doc: Document, text: str, filename: str) -> None:
        self.doc = doc
        self.text = text
        self.filename = filename
        self._line_starts: list[int] | None = None

    def position(self, path: Path, at: Literal["key", "value"] = "value") -> tuple[int, int]:
        probe = tuple(path)
        table = (self.doc.keys, self.doc.values) if at == "key" else (self.doc.values, self.doc.keys)
        while True:
            for positions in table:
                found = positions.get(probe)
                if found is not None:
                    return found.line, found.column
            if not probe:
                return 1, 1
            probe = probe[:-1]

    def issue(
        self,
        path: Path,
        message: str,
        fix: str | None = None,
        *,
        severity: Literal["error", "warning"] = "error",
        at: Literal["key", "value"] = "value",
        snippet: tuple[str, int] | None = None,
    ) -> Issue:
        """An Issue at `path`; `snippet=(text, n)` points at the n-th occurrence of text in the value."""
        line, column = self.position(path, at)
        if snippet is not None and tuple(path) in self.doc.values:
            line, column = self._find_snippet(self.doc.values[tuple(path)], *snippet) or (line, column)
        return Issue(self.filename, line, column, tuple(path), message, fix, severity)

    def _find_snippet(self, start: Position, snippet: str, occurrence: int) -> tuple[int, int] | None:
        starts = self._starts()
        offset = starts[start.line - 1] + start.column - 1
        for _ in range(occurrence + 1):
            found = self.text.find(snippet, offset)
            if found < 0:
                return None
            offset = found + 1
        index = bisect.bisect_right(starts, found) - 1
        return index + 1, found - starts[index] + 1

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return self._line_starts
