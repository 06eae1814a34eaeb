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
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

try:  # libyaml's event parser is ~20x faster than the pure-Python one and just as iterative
    import yaml as _pyyaml

    _LIBYAML = bool(_pyyaml.__with_libyaml__)
except ImportError:  # pragma: no cover - PyYAML is pinned in requirements.txt
    _pyyaml = None  # type: ignore[assignment]
    _LIBYAML = False

from schemas.issues import Path
from schemas.yaml_syntax import explain

MAX_BYTES = 64 * 1024
MAX_DEPTH = 64
_MAX_PROBLEMS = 50
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_RESOLVER = VersionedResolver()  # YAML 1.2 core rules: `yes`/`on` stay strings
_COLLECTION_START = frozenset({"MappingStartEvent", "SequenceStartEvent"})
_COLLECTION_END = frozenset({"MappingEndEvent", "SequenceEndEvent"})
_NODE = frozenset({"ScalarEvent", "AliasEvent"}) | _COLLECTION_START


@dataclass(frozen=True)
class Problem:
    """A YAML-level problem at a 1-based position."""

    line: int
    column: int
    message: str
    fix: str | None = None
    path: Path = ()


class Position(NamedTuple):
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
    is_list: bool
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
    except _MARKED_ERRORS as exc:
        said = explain(text, exc)
        raw = " ".join(part for part in (exc.context, exc.problem) if part)
        fix = _FLOW_FIX if "flow mapping" in raw else said.fix  # e.g. an unquoted `: ` inside `{...}`
        doc.problems.append(Problem(said.line, said.column, said.message, fix))
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - untrusted input: every failure becomes a problem
        doc.problems.append(Problem(1, 1, f"cannot read YAML: {type(exc).__name__}: {exc}"[:300]))
    return doc


_FLOW_FIX = (
    "inside `{...}`, quote any value that contains `: ` or `, `, e.g. `prompt: 'Note: be brief'`; "
    "and check that every `{` is closed"
)
_BRACKETS = re.compile(r"[\[\]{}]")
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
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
    for index, char in enumerate(_NOT_BRACKETS.sub("", text)):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        if depth > limit:
            offset = [m.start() for m in _BRACKETS.finditer(text)][index]
            line_start = text.rfind("\n", 0, offset) + 1
            message = f"config is nested deeper than {max_depth} levels"
            return Problem(text.count("\n", 0, offset) + 1, offset - line_start + 1, message)
    return None


_MARKED_ERRORS: tuple[type[Exception], ...] = (MarkedYAMLError,) + (
    (_pyyaml.MarkedYAMLError,) if _pyyaml is not None else ()
)


class _Stop(Exception):
    """Parsing was abandoned after a problem that makes the rest meaningless."""


def _events(text: str) -> Iterator[Any]:
    """Parser events, from libyaml when present; both libraries name and shape them alike."""
    if _LIBYAML:
        return _pyyaml.parse(text, Loader=_pyyaml.CSafeLoader)
    return YAML(typ="safe", pure=True).parse(text)


def _build(text: str, doc: Document, max_depth: int) -> None:
    """One pass over the events: safety checks, plain data, and positions (hot path, kept flat)."""
    stack: list[_Frame] = []
    keys, values = doc.keys, doc.values
    documents = 0
    for event in _events(text):
        kind = type(event).__name__
        if kind in _COLLECTION_END:
            stack.pop()
            continue
        if kind not in _NODE:
            if kind == "DocumentStartEvent":
                documents += 1
                if documents > 1:
                    _add(doc, event, "a config holds one YAML document; remove the `---` separator")
                    raise _Stop
            continue
        mark = event.start_mark
        frame = stack[-1] if stack else None
        if frame is None:
            path: Path = ()
        elif frame.is_list:
            path = (*frame.path, len(frame.container))
        elif frame.key is None:  # this event is a mapping key
            if kind != "ScalarEvent":
                _add(doc, event, "mapping keys must be plain names", None, frame.path)
                raise _Stop
            key = str(event.value)
            if key in frame.container:
                _add(doc, event, f"duplicate key `{key}`", "keep only one of them", (*frame.path, key))
            frame.key = key
            keys[(*frame.path, key)] = Position(mark.line + 1, mark.column + 1)
            continue
        else:
            path = (*frame.path, frame.key)
        if kind == "AliasEvent":
            _add(doc, event, f"aliases (`*{event.anchor}`) are not allowed", "repeat the value instead", path)
            value: Any = None
        else:
            if event.anchor is not None:
                _add(doc, event, f"anchors (`&{event.anchor}`) are not allowed", "remove the anchor", path)
            if event.tag is not None and not _plain_tag(event):
                _add(doc, event, f"tags (`{event.tag}`) are not allowed", "remove the tag", path)
            if kind == "ScalarEvent":
                value = _scalar(event)
            elif len(stack) >= max_depth:
                _add(doc, event, f"config is nested deeper than {max_depth} levels", None, path)
                raise _Stop
            else:
                value = {} if kind == "MappingStartEvent" else []
        style = (event.style or None) if kind == "ScalarEvent" else None
        values[path] = Position(mark.line + 1, mark.column + 1, style)
        if frame is None:
            doc.data = value
        elif frame.is_list:
            frame.container.append(value)  # type: ignore[union-attr]
        else:
            frame.container[frame.key] = value  # type: ignore[index]
            frame.key = None
        if kind in _COLLECTION_START and value is not None:
            stack.append(_Frame(value, path, isinstance(value, list)))


def _plain_tag(event: Any) -> bool:
    """`!` on a quoted scalar is how the parser marks non-plain strings; it is not a user tag."""
    return type(event).__name__ == "ScalarEvent" and event.tag == "!" and event.implicit[1]


def _add(doc: Document, event: Any, message: str, fix: str | None = None, path: Path = ()) -> None:
    if len(doc.problems) >= _MAX_PROBLEMS:
        raise _Stop
    mark = event.start_mark
    doc.problems.append(Problem(mark.line + 1, mark.column + 1, message, fix, path))


@lru_cache(maxsize=8192)
def _resolve_plain(value: str) -> str:
    return str(_RESOLVER.resolve(ScalarNode, value, (True, False)))


def _scalar(event: Any) -> Any:
    """Plain scalars follow YAML 1.2 core rules; quoted and block scalars are strings."""
    value = event.value
    if not event.implicit[0] or event.tag is not None and not _plain_tag(event):
        return value
    tag = _resolve_plain(value)
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
