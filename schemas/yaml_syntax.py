"""YAML syntax errors in plain words, located where the mistake starts rather than where the parser gave up.

A parser notices a bad indentation or a stray tab only on the next token it cannot place, which is
often the line *after* the mistake, and says so in its own terms ("mapping values are not allowed in
this context"). `explain` re-reads the text around the parser's position: a tab in the indentation,
a line indented differently from its block, a quote or bracket never closed, a line with no colon.
Whatever it cannot explain keeps the parser's position and wording.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

_BLOCK_SCALAR = re.compile(r"(?::|^-)\s*[|>][-+0-9]*\s*(?:#.*)?$")
_OPENS_BLOCK = re.compile(r":\s*(?:#.*)?$")
_INDENTATION_WORDS = ("mapping values are not allowed", "did not find expected key",
                      "did not find expected '-' indicator", "did not find expected <document start>",
                      "could not find expected ':'")
_CLOSERS = MappingProxyType({"flow sequence": ("[", "]"), "flow mapping": ("{", "}")})


@dataclass(frozen=True)
class Explained:
    """A syntax problem at a 1-based position, worded for people."""

    line: int
    column: int
    message: str
    fix: str | None = None


def explain(text: str, exc: Any) -> Explained:
    """Plain words and the starting position for a parser's `MarkedYAMLError`."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    context, problem = exc.context or "", exc.problem or ""
    lines = text.splitlines()
    tab = _tab_at(lines, line, column, problem)
    if tab is not None:
        return Explained(*tab, "a tab is used for indentation; YAML indents with spaces only",
                         "replace the tab with spaces")
    start = exc.context_mark
    if "quoted scalar" in context and "end of stream" in problem and start is not None:
        quote = _char(lines, start.line, start.column) or '"'
        return Explained(start.line + 1, start.column + 1, f"this quote ({quote}) is never closed",
                         f"add the closing {quote} at the end of the text")
    for kind, (opener, closer) in _CLOSERS.items():
        if kind in context and start is not None:
            return Explained(start.line + 1, start.column + 1,
                             f"the `{opener}` opened here is never closed (or an item lacks a comma)",
                             f"add `{closer}` after the last item, and commas between items")
    if "could not find expected ':'" in problem and start is not None:
        text_line = _block_text(lines, start.line + 1)
        if text_line is not None:
            return text_line
        return Explained(start.line + 1, start.column + 1,
                         "this line is neither `key: value` nor a list item, or it is indented wrongly",
                         "add the missing `:` after the key, or indent it to continue the line above")
    if any(words in problem for words in _INDENTATION_WORDS):
        found = _indentation(lines, line) or _block_text(lines, line) or _colon_in_value(lines, line, column)
        if found is not None:
            return found
    what = " ".join(part for part in (context, problem) if part) or "invalid YAML"
    return Explained(line, column, f"YAML syntax error: {what}")


def _block_text(lines: list[str], line: int) -> Explained | None:
    """A line of a `|`/`>` text indented less than the text's first line."""
    if not 1 <= line <= len(lines):
        return None
    indent = _indent_of(lines[line - 1])
    for row in range(line - 1, 0, -1):
        text = lines[row - 1]
        if not text.strip() or _indent_of(text) > indent:
            continue
        if not _BLOCK_SCALAR.search(text) or _indent_of(text) == indent and ":" in lines[line - 1]:
            return None
        body = next((n for n in range(row + 1, line) if lines[n - 1].strip()), None)
        if body is None or _indent_of(lines[body - 1]) <= indent:
            return None
        return Explained(line, indent + 1, f"wrong indentation: this line of the text that starts on line {row} "
                         f"is indented less than its first line (line {body})",
                         f"indent every line of the text by at least {_indent_of(lines[body - 1])} spaces")
    return None


def _colon_in_value(lines: list[str], line: int, column: int) -> Explained | None:
    """`key: text: more`: an unquoted value holding `: `."""
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    first = text.find(": ")
    if first < 0 or column - 1 <= first or text[column - 1:column] != ":":
        return None
    return Explained(line, first + 3, "this value contains `: `, which YAML reads as the start of another key",
                     "put the value in quotes, or write it as a `|` block on the next lines")


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _indent_of(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _char(lines: list[str], row: int, col: int) -> str:
    return lines[row][col] if 0 <= row < len(lines) and 0 <= col < len(lines[row]) else ""


def _tab_at(lines: list[str], line: int, column: int, problem: str) -> tuple[int, int] | None:
    """The tab that broke the indentation: on the reported line, or named by the parser."""
    for row in (line, line - 1):
        if not 1 <= row <= len(lines):
            continue
        text = lines[row - 1]
        indent = text[: len(text) - len(text.lstrip(" \t"))]
        if "\t" in indent and (row == line or "tab" in problem):
            return row, indent.index("\t") + 1
    if "tab" in problem and _char(lines, line - 1, column - 1) == "\t":
        return line, column
    return None


@dataclass
class _Line:
    number: int  # 1-based
    indent: int
    text: str

    @property
    def opens_block(self) -> bool:
        return bool(_OPENS_BLOCK.search(self.text)) or self.text.strip() == "-"

    @property
    def is_item(self) -> bool:
        return self.text.lstrip().startswith("- ")

    @property
    def item_indent(self) -> int:
        """Where a `- key: value` item's keys sit (the dash and its spaces add to the indentation)."""
        after_dash = self.text.lstrip()[1:]
        return self.indent + 1 + len(after_dash) - len(after_dash.lstrip(" "))


def _content_lines(lines: list[str], last: int) -> list[_Line]:
    """Lines up to `last` that carry structure: no blanks, comments or block-scalar bodies."""
    out: list[_Line] = []
    scalar_indent: int | None = None
    for number, text in enumerate(lines[:last], start=1):
        stripped = text.strip()
        indent = len(text) - len(text.lstrip(" "))
        if scalar_indent is not None:
            if not stripped or indent > scalar_indent:
                continue
            scalar_indent = None
        if not stripped or stripped.startswith("#"):
            continue
        out.append(_Line(number, indent, text))
        if _BLOCK_SCALAR.search(text):
            scalar_indent = indent
    return out


def _step(lines: list[_Line]) -> int:
    """The file's usual indentation step (2 unless most nested blocks say otherwise)."""
    steps = Counter(b.indent - a.indent for a, b in zip(lines, lines[1:], strict=False)
                    if a.opens_block and b.indent > a.indent)
    return steps.most_common(1)[0][0] if steps else 2


@dataclass
class _Block:
    indent: int  # where its keys (or dashes) sit
    first: _Line
    parent: int  # the indentation of the line that opened it
    sequence: bool = False  # its lines are `-` items


def _indentation(lines: list[str], error_line: int) -> Explained | None:
    """The first line, up to the error, that does not fit the indentation of its block."""
    content = _content_lines(lines, min(error_line, len(lines)))
    if not content:
        return None
    step = _step(_content_lines(lines, len(lines)))
    blocks = [_Block(content[0].indent, content[0], -step, content[0].is_item)]
    if content[0].is_item:
        blocks.append(_Block(content[0].item_indent, content[0], content[0].indent))
    before, previous = None, content[0]
    for current in content[1:]:
        if previous.opens_block and (current.indent > previous.indent
                                     or current.indent == previous.indent and current.is_item):
            blocks.append(_Block(current.indent, current, previous.indent, current.is_item))
        elif current.indent > blocks[-1].indent:
            if ":" not in current.text and not current.is_item:
                continue  # the continuation of a long plain value
            return _misfit(blocks[-1], before, previous, current, step)
        elif current.indent < blocks[-1].indent:
            popped = blocks[-1]
            while len(blocks) > 1 and blocks[-1].indent > current.indent:
                popped = blocks.pop()
            if blocks[-1].indent != current.indent:
                return _misfit(popped, before, previous, current, step)
        while blocks[-1].sequence != current.is_item:
            if blocks[-1].indent != blocks[-1].parent or len(blocks) == 1:  # not a `key:` then `- item` list
                return _mixed(blocks[-1], current)
            blocks.pop()
        if ":" in current.text and ":" not in previous.text and previous.indent == current.indent \
                and not previous.is_item:
            return Explained(previous.number, previous.indent + 1, "this line has no `:`, so YAML reads it "
                             "and the next line as one value", "write it as `key: value`")
        if current.is_item:
            blocks.append(_Block(current.item_indent, current, current.indent))
        before, previous = previous, current
    return None


def _misfit(block: _Block, before: _Line | None, previous: _Line, current: _Line, step: int) -> Explained:
    """`current` does not line up with `block`: blame the line that breaks the file's pattern."""
    if before is not None and before.opens_block and before.indent == previous.indent < current.indent:
        return _wrong(previous, current.indent, f"this line is not indented under line {before.number} "
                      f"above it, though line {current.number} below it is")
    odd_first, odd_current = block.first.indent % step != 0, current.indent % step != 0
    first_off = block.first is previous and block.first.indent - block.parent != step
    if block.first is previous and (odd_first and not odd_current
                                    or not odd_current and first_off and current.indent - block.parent == step):
        return _wrong(previous, current.indent, f"this line is indented {_spaces(previous.indent)}, which does "
                      f"not fit line {current.number} below it ({_spaces(current.indent)})")
    if current.indent > block.indent:
        return _wrong(current, block.indent, f"this line is indented more than line {previous.number} above "
                      "it, so YAML reads it as part of that line's value")
    return _wrong(current, block.indent, f"this line's indentation ({_spaces(current.indent)}) matches no block "
                  f"above it (line {block.first.number} uses {block.indent})")


def _mixed(block: _Block, current: _Line) -> Explained:
    """A `-` item among keys, or a key among `-` items."""
    if current.is_item:
        return Explained(current.number, current.indent + 1, "wrong indentation: this `-` item is lined up with "
                         f"the keys of line {block.first.number}, not with list items",
                         "indent the list under the key it belongs to, or write it as `key: value`")
    return _wrong(current, current.indent + 2, f"this line is lined up with the `-` items of line "
                  f"{block.first.number} but is not one of them")


def _wrong(line: _Line, expected: int, message: str) -> Explained:
    fix = f"indent it by {_spaces(expected)} like its neighbours" if expected else "start it at the beginning of the line"
    return Explained(line.number, line.indent + 1, f"wrong indentation: {message}", fix)
