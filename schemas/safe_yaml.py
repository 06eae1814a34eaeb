"""Reads untrusted YAML in one pass over the parser's event stream, refusing anything dangerous.

The event stream is produced iteratively, so size, depth, anchors/aliases, tags and document
count are checked before any tree exists: an alias bomb, a 100,000-deep nesting or a
`!!python/object` tag never reaches a constructor. The same pass builds plain dicts, lists and
scalars (YAML 1.2 core rules) and records where every key and value sits in the text, which is
what turns validation errors into `file:line:column` messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from ruamel.yaml.nodes import ScalarNode

from schemas.issues import Path

MAX_BYTES = 64 * 1024
MAX_DEPTH = 64
_MAX_PROBLEMS = 50
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Problem:
    """A YAML-level problem at a 1-based position."""

    line: int
    column: int
    message: str
    fix: str | None = None
    path: Path = ()


@dataclass(frozen=True)
class Position:
    """Where a key or value starts (1-based) and, for scalars, its quoting style."""

    line: int
    column: int
    style: str | None = None


@dataclass
class Document:
    """The plain data of a config plus the position of every key and value in it."""

    data: Any = None
    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: Path
    key: str | None = None  # for a mapping: the key waiting for its value


def read_untrusted(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Document:
    """Parse `text` into a Document; any problem ends up in `.problems`, never as an exception."""
    doc = Document()
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        doc.problems.append(
            Problem(
                1, 1, f"config is larger than {max_bytes // 1024} KiB", "split it or shorten long prompts"
            )
        )
        return doc
    flow_problem = _flow_depth_problem(text, max_depth)
    if flow_problem is not None:
        doc.problems.append(flow_problem)
        return doc
    try:
        _build(text, doc, max_depth)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        doc.problems.append(Problem(line, column, f"YAML syntax error: {what}"))
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - untrusted input: every failure becomes a problem
        doc.problems.append(Problem(1, 1, f"cannot read YAML: {type(exc).__name__}: {exc}"[:300]))
    return doc


_BRACKETS = re.compile(r"[\[\]{}]")
_FLOW_MARGIN = 4


def _flow_depth_problem(text: str, max_depth: int) -> Problem | None:
    """Refuse absurd `[[[[`/`{{{{` runs before the scanner, which is quadratic in flow depth.

    Brackets inside strings are counted too, so the limit is a generous multiple of the real cap;
    the exact cap is enforced on the event stream.
    """
    limit = max_depth * _FLOW_MARGIN
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > limit:
            before = text[: match.start()]
            line = before.count("\n") + 1
            return Problem(
                line,
                match.start() - (before.rfind("\n") + 1) + 1,
                f"config is nested deeper than {max_depth} levels",
            )
    return None


class _Stop(Exception):
    """Parsing was abandoned after a problem that makes the rest meaningless."""


def _build(text: str, doc: Document, max_depth: int) -> None:
    yaml = YAML(typ="safe", pure=True)
    resolver = yaml.resolver
    stack: list[_Frame] = []
    documents = 0
    for event in yaml.parse(text):
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                _add(doc, event, "a config holds one YAML document; remove the `---` separator")
                raise _Stop
            continue
        if isinstance(event, MappingEndEvent | SequenceEndEvent):
            stack.pop()
            continue
        if not isinstance(event, NodeEvent):
            continue
        path = _next_path(stack, event, doc)
        if path is None:
            continue  # a mapping key was consumed
        if isinstance(event, AliasEvent):
            _add(doc, event, f"aliases (`*{event.anchor}`) are not allowed", "repeat the value instead", path)
            _attach(stack, doc, path, None, event)
            continue
        if event.anchor is not None:
            _add(doc, event, f"anchors (`&{event.anchor}`) are not allowed", "remove the anchor", path)
        if event.tag is not None and not _plain_tag(event):
            _add(doc, event, f"tags (`{event.tag}`) are not allowed", "remove the tag", path)
        if isinstance(event, ScalarEvent):
            _attach(stack, doc, path, _scalar(resolver, event), event)
        elif isinstance(event, CollectionStartEvent):
            if len(stack) >= max_depth:
                _add(doc, event, f"config is nested deeper than {max_depth} levels", None, path)
                raise _Stop
            container: dict[str, Any] | list[Any] = {} if isinstance(event, MappingStartEvent) else []
            _attach(stack, doc, path, container, event)
            stack.append(_Frame(container, path))


def _plain_tag(event: NodeEvent) -> bool:
    """`!` on a quoted scalar is how the parser marks non-plain strings; it is not a user tag."""
    return isinstance(event, ScalarEvent) and event.tag == "!" and event.implicit[1]


def _next_path(stack: list[_Frame], event: NodeEvent, doc: Document) -> Path | None:
    """The path the event's node will live at; for a mapping key, record it and return None."""
    if not stack:
        return ()
    frame = stack[-1]
    if isinstance(frame.container, list):
        return (*frame.path, len(frame.container))
    if frame.key is None:
        if not isinstance(event, ScalarEvent):
            _add(doc, event, "mapping keys must be plain names", None, frame.path)
            raise _Stop
        key = str(event.value)
        if key in frame.container:
            _add(doc, event, f"duplicate key `{key}`", "keep only one of them", (*frame.path, key))
        frame.key = key
        doc.keys[(*frame.path, key)] = Position(event.start_mark.line + 1, event.start_mark.column + 1)
        return None
    return (*frame.path, frame.key)


def _attach(stack: list[_Frame], doc: Document, path: Path, value: Any, event: NodeEvent) -> None:
    style = event.style if isinstance(event, ScalarEvent) else None
    doc.values[path] = Position(event.start_mark.line + 1, event.start_mark.column + 1, style)
    if not stack:
        doc.data = value
        return
    frame = stack[-1]
    if isinstance(frame.container, list):
        frame.container.append(value)
    else:
        assert frame.key is not None
        frame.container[frame.key] = value
        frame.key = None


def _add(doc: Document, event: NodeEvent, message: str, fix: str | None = None, path: Path = ()) -> None:
    if len(doc.problems) >= _MAX_PROBLEMS:
        raise _Stop
    mark = event.start_mark
    doc.problems.append(Problem(mark.line + 1, mark.column + 1, message, fix, path))


def _scalar(resolver: Any, event: ScalarEvent) -> Any:
    """Plain scalars follow YAML 1.2 core rules; quoted and block scalars are strings."""
    value = event.value
    if not event.implicit[0] or event.tag is not None and not _plain_tag(event):
        return value
    tag = resolver.resolve(ScalarNode, value, event.implicit)
    try:
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag == _INT:
            cleaned = value.replace("_", "")
            try:
                return int(cleaned, 0)
            except ValueError:
                return int(cleaned, 10)
        if tag == _FLOAT:
            lowered = value.lower().replace("_", "")
            if lowered.endswith((".inf", ".nan")):
                number = math.inf if lowered.endswith("inf") else math.nan
                return -number if lowered.startswith("-") else number
            return float(lowered)
    except ValueError:
        return value
    return value
