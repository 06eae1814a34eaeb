"""Writes a Workflow as YAML people can read, and edits an existing file without wrecking it.

Only non-default fields are written, so output stays short. With `base_text`, the new workflow is
applied onto the round-tripped document of that text: unchanged keys keep their comments, quoting
and order, removed keys go, new keys are inserted where the model order puts them. This is how the
chat edits a user's file.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from schemas.models import Workflow
from schemas.safe_yaml import read_untrusted

SCHEMA_URL = "schemas/workflow.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="
_FIRST_KEYS = ("id", "type")
_MISSING: Any = object()
# Characters YAML treats as line breaks or cannot print raw: such strings are written double-quoted.
_NEEDS_ESCAPES = re.compile("[\r\x85\u2028\u2029\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")
# A blank line before each big top-level section keeps fresh output easy to scan.
_SECTION_RE = re.compile(r"^((?:inputs|models|agents|tools|steps|limits|checks):)", re.MULTILINE)


def modeline(schema_url: str = SCHEMA_URL) -> str:
    return f"{MODELINE_PREFIX}{schema_url}"


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def to_yaml(workflow: Workflow, *, base_text: str | None = None, schema_url: str = SCHEMA_URL) -> str:
    """YAML text for `workflow`, starting with the schema modeline; edits `base_text` when given."""
    sparse = workflow.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    base = _load_base(base_text) if base_text else None
    if base is None:
        body = _SECTION_RE.sub(r"\n\1", _dump(_fresh(sparse)))
        return f"{modeline(schema_url)}\n{body}"
    full = workflow.model_dump(mode="json", by_alias=True)
    _merge_map(base, full, sparse)
    body = _dump(base)
    if MODELINE_PREFIX in (base_text or "").split("\n", 1)[0] or body.startswith(MODELINE_PREFIX):
        return body
    return f"{modeline(schema_url)}\n{body}"


def _load_base(text: str) -> CommentedMap | None:
    """The round-trip document of `text`, only when it is safe and a mapping."""
    if read_untrusted(text).problems:
        return None
    try:
        data = _yaml().load(text)
    except Exception:  # noqa: BLE001 - an unreadable base just means writing afresh
        return None
    return data if isinstance(data, CommentedMap) else None


def _dump(data: Any) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def _ordered_keys(data: dict[str, Any]) -> list[str]:
    return [k for k in _FIRST_KEYS if k in data] + [k for k in data if k not in _FIRST_KEYS]


def _fresh(value: Any) -> Any:
    """Plain data as ruamel nodes: `id`/`type` first, multi-line strings as `|` blocks."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key in _ordered_keys(value):
            out[key] = _fresh(value[key])
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_fresh(v) for v in value)
        if value and all(not isinstance(v, dict | list) for v in value) and len(value) <= 8:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str):
        if _NEEDS_ESCAPES.search(value):
            return DoubleQuotedScalarString(value)  # escapes survive; block and plain styles would not
        if "\n" in value:
            return LiteralScalarString(value)
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, dict | list) or isinstance(new, dict | list):
        return False
    return isinstance(old, bool) == isinstance(new, bool) and old == new


def _merge_map(base: CommentedMap, full: dict[str, Any], sparse: dict[str, Any]) -> None:
    for key in [k for k in base if k not in full]:
        del base[key]
    previous: str | None = None
    for key in _ordered_keys(full):
        value = full[key]
        thin = sparse.get(key, _MISSING) if isinstance(sparse, dict) else _MISSING
        if key in base:
            _merge_value(base, key, value, thin)
        elif thin is not _MISSING:
            position = list(base).index(previous) + 1 if previous in base else 0
            base.insert(position, key, _fresh(thin))
        if key in base:
            previous = key


def _merge_value(parent: Any, key: Any, value: Any, thin: Any) -> None:
    old = parent[key]
    if isinstance(old, CommentedMap) and isinstance(value, dict):
        _merge_map(old, value, thin if isinstance(thin, dict) else {})
    elif isinstance(old, CommentedSeq) and isinstance(value, list):
        _merge_seq(old, value, thin if isinstance(thin, list) else [])
    elif not _same(old, value):
        parent[key] = _fresh(thin if thin is not _MISSING else value)


def _merge_seq(base: CommentedSeq, full: list[Any], sparse: list[Any]) -> None:
    """Items with an `id` are matched by id (steps move without losing comments), others by index."""
    sparse = sparse + [_MISSING] * (len(full) - len(sparse))
    by_id = {item.get("id"): item for item in base if isinstance(item, CommentedMap) and "id" in item}
    if by_id and all(isinstance(item, dict) and "id" in item for item in full):
        merged = []
        for item, thin in zip(full, sparse, strict=True):
            old = by_id.get(item["id"])
            if old is None:
                merged.append(_fresh(thin if thin is not _MISSING else item))
            else:
                _merge_map(old, item, thin if isinstance(thin, dict) else {})
                merged.append(old)
        if [id(m) for m in merged] != [id(b) for b in base]:
            base[:] = merged
        return
    del base[len(full) :]
    for index, (item, thin) in enumerate(zip(full, sparse, strict=True)):
        if index < len(base):
            _merge_value(base, index, item, thin)
        else:
            base.append(_fresh(thin if thin is not _MISSING else item))
