"""A workflow's `inputs` → the Run form, and the form's values → the run's inputs.

The Run tab has a fixed pool of `SLOTS` text fields and checkboxes (so its public API does not change
with the config); `layout` says which slot shows which input, and `collect` turns what the user
typed back into typed values, listing every problem at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.models import InputSpec, Workflow

SLOTS = 8
# Every input is stored with the run (history, checkpoints): a public app caps what one run may add.
MAX_INPUT_CHARS = 20_000
MAX_INPUTS_CHARS = 100_000  # all inputs together, and the JSON box's text before it is parsed


@dataclass(frozen=True)
class Slot:
    """What one slot of the form shows; `kind` is "text" (a textbox), "bool" (a checkbox) or "file"
    (an upload)."""

    name: str
    kind: str
    label: str
    info: str
    value: Any
    lines: int = 1


class FormError(ValueError):
    """Inputs that cannot be used; `problems` names each input and what to enter instead, and
    `fields` maps an input's name to its problem (shown next to that field)."""

    def __init__(self, problems: list[str], fields: dict[str, str] | None = None) -> None:
        self.problems = problems
        self.fields = fields or {}
        super().__init__("; ".join(problems))


def _default_text(spec: InputSpec) -> str:
    if spec.default is None:
        return ""
    if isinstance(spec.default, list):
        return "\n".join(spec.default)
    return str(spec.default)


def layout(workflow: Workflow | None) -> tuple[list[Slot], list[str]]:
    """Slots for the first `SLOTS` inputs, and the names of inputs that only the JSON box can set."""
    if workflow is None:
        return [], []
    slots: list[Slot] = []
    names = list(workflow.inputs)
    for name in names[:SLOTS]:
        spec = workflow.inputs[name]
        required = spec.default is None
        label = f"{name}{' *' if required else ''} ({spec.type})"
        info = spec.description + (" One item per line." if spec.type == "list" else "")
        if spec.type == "boolean":
            slots.append(Slot(name, "bool", label, info, bool(spec.default)))
        elif spec.type == "file":
            kinds = f"{spec.format} file" if spec.format else "text, Markdown, CSV or JSON file"
            slots.append(Slot(name, "file", label, f"{info} A {kinds}, up to {spec.max_bytes:,} bytes.".strip(),
                              None))
        else:
            lines = 4 if spec.type in ("text", "list") else 1
            slots.append(Slot(name, "text", label, info, _default_text(spec), lines))
    return slots, names[SLOTS:]


def _field_error(name: str, problem: str) -> FormError:
    return FormError([f"input '{name}' {problem}"], {name: problem})


def _coerce(name: str, spec: InputSpec, raw: Any) -> Any:
    match spec.type:
        case "boolean":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off", ""):
                return False
            raise _field_error(name, f"must be true or false, not {raw!r}")
        case "integer":
            try:
                return int(str(raw).strip())
            except ValueError:
                raise _field_error(name, f"must be a whole number, not {raw!r}") from None
        case "number":
            try:
                return float(str(raw).strip())
            except ValueError:
                raise _field_error(name, f"must be a number, not {raw!r}") from None
        case "list":
            if isinstance(raw, list):
                return [str(x) for x in raw]
            return [line.strip() for line in str(raw).splitlines() if line.strip()]
        case "file":  # an upload (name and text), or text typed in the JSON box: the engine reads it
            return raw if isinstance(raw, dict) else str(raw)
    return str(raw)


def _chars(raw: Any) -> int:
    if isinstance(raw, list):
        return sum(len(str(item)) for item in raw)
    return len(str(raw))


def _check_sizes(raw: dict[str, Any]) -> None:
    """Refuse an oversized input by name, then an oversized total, before any value is converted."""
    sizes = {name: _chars(value) for name, value in raw.items() if value is not None}
    problems = [f"input '{name}' has {n:,} characters; the limit is {MAX_INPUT_CHARS:,}: shorten it"
                for name, n in sizes.items() if n > MAX_INPUT_CHARS]
    total = sum(sizes.values())
    if not problems and total > MAX_INPUTS_CHARS:
        problems.append(f"the inputs together have {total:,} characters; the limit is {MAX_INPUTS_CHARS:,}: "
                        "shorten the longest ones")
    if problems:
        raise FormError(problems)
def read_upload(name: str, spec: InputSpec, path: str) -> dict[str, str]:
    """An uploaded file as a `file` input's value (its name and text); the size cap is checked first."""
    from orchestrator.state import file_upload

    file = Path(path)
    size = file.stat().st_size
    if size > spec.max_bytes:
        raise FormError([f"input '{name}': the file is {size:,} bytes, over its limit of {spec.max_bytes:,}"])
    try:
        return file_upload(file.name, file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FormError([f"input '{name}': the file is not UTF-8 text (give text, Markdown, CSV or JSON)"]) from None


def collect(
    workflow: Workflow, texts: list[str], flags: list[bool], extra_json: str = "",
    uploads: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Typed inputs from the slot values plus the JSON box (which wins); raises `FormError`.

    `uploads`: file inputs' uploads (see `read_upload`), used when their text slot is empty.
    """
    raw: dict[str, Any] = {name: value for name, value in (uploads or {}).items() if name in workflow.inputs}
    for i, name in enumerate(list(workflow.inputs)[:SLOTS]):
        spec = workflow.inputs[name]
        if spec.type == "boolean":
            raw[name] = bool(flags[i]) if i < len(flags) and flags[i] is not None else bool(spec.default)
        elif i < len(texts) and texts[i] not in (None, ""):
            raw[name] = texts[i]
    problems: list[str] = []
    if extra_json and len(extra_json) > MAX_INPUTS_CHARS:
        raise FormError([f"the inputs JSON has {len(extra_json):,} characters; the limit is "
                         f"{MAX_INPUTS_CHARS:,}: shorten it"])
    fields: dict[str, str] = {}
    if extra_json and extra_json.strip():
        try:
            extra = json.loads(extra_json)
        except json.JSONDecodeError as exc:
            raise FormError([f"the inputs JSON is not valid JSON ({exc.msg} at line {exc.lineno})"]) from None
        if not isinstance(extra, dict):
            raise FormError(['the inputs JSON must be an object such as {"topic": "..."}'])
        unknown = sorted(set(extra) - set(workflow.inputs))
        if unknown:
            problems.append(f"unknown inputs {unknown}; this workflow takes {sorted(workflow.inputs)}")
        raw.update({k: v for k, v in extra.items() if k in workflow.inputs})
    _check_sizes(raw)
    values: dict[str, Any] = {}
    for name, spec in workflow.inputs.items():
        if name not in raw or raw[name] in (None, ""):
            if spec.default is None:
                problems.append(f"input '{name}' is required: fill it in")
                fields[name] = "required: fill it in"
            else:
                values[name] = spec.default
            continue
        try:
            values[name] = _coerce(name, spec, raw[name])
        except FormError as exc:
            problems.extend(exc.problems)
            fields.update(exc.fields)
    if problems:
        raise FormError(problems, fields)
    return values
