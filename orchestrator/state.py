"""The LangGraph state of a run, its reducers, and the template context built from it.

Nodes never mutate state: they return deltas that the reducers merge, which is what lets parallel
branches and map items write concurrently, and what the SQLite checkpointer persists after each
superstep. Counters are deltas too (`operator.add`), so a resumed run keeps its spend so far.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from typing import Annotated, Any, TypedDict

from schemas.files import file_format
from schemas.models import InputSpec, Workflow


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge where the newer write wins per key (step id, map slot, loop id...)."""
    return {**(left or {}), **(right or {})}


class RunState(TypedDict, total=False):
    inputs: dict[str, Any]
    outputs: Annotated[dict[str, Any], merge_dicts]  # step id -> output
    map_slots: Annotated[dict[str, Any], merge_dicts]  # "<map id>/<index>" -> one item's output
    map_items: Annotated[dict[str, list[Any]], merge_dicts]  # map id -> the items of this execution
    loops: Annotated[dict[str, int], merge_dicts]  # loop id -> current iteration (1-based)
    # loop id -> body step id -> that step's output at the end of each finished round, oldest first
    # (what `loop.previous` and `loop.history` read; plain JSON, so it checkpoints like the rest).
    loop_rounds: Annotated[dict[str, dict[str, list[Any]]], merge_dicts]
    routes: Annotated[dict[str, int], merge_dicts]  # route id -> chosen case (-1 = default)
    steps_done: Annotated[int, operator.add]
    tokens_in: Annotated[int, operator.add]
    tokens_out: Annotated[int, operator.add]
    cost_usd: Annotated[float, operator.add]
    # The seqs of the `StepFinished`/`LLMCall` events whose usage the counters above include: after
    # a crash it tells exactly which recorded work survived in the checkpoint (see `RunStarted`).
    accounted: Annotated[list[int], operator.add]
    ended: str  # the `end` step that finished the run early, if any
    # Only in the payload a map item receives through `Send`:
    item: Any
    item_index: int


def initial_state(inputs: dict[str, Any]) -> RunState:
    return RunState(inputs=inputs, outputs={}, map_slots={}, map_items={}, loops={}, loop_rounds={},
                    routes={}, steps_done=0, tokens_in=0, tokens_out=0, cost_usd=0.0, accounted=[])


def template_context(state: RunState, *, loop_id: str | None = None,
                     item_name: str | None = None) -> dict[str, Any]:
    """The `{"inputs", "steps", "item", "loop"}` dict templates and expressions read."""
    context: dict[str, Any] = {
        "inputs": state.get("inputs") or {},
        "steps": {sid: {"output": out} for sid, out in (state.get("outputs") or {}).items()},
    }
    if loop_id is not None:
        context["loop"] = loop_context(state, loop_id)
    if "item" in state:
        context["item"] = state["item"]
        if item_name and item_name not in context:
            context[item_name] = state["item"]
    return context


def loop_context(state: RunState, loop_id: str) -> dict[str, Any]:
    """`loop.iteration`, `loop.previous.<id>.output` (null in round 1) and `loop.history.<id>`."""
    rounds = (state.get("loop_rounds") or {}).get(loop_id) or {}
    return {
        "iteration": (state.get("loops") or {}).get(loop_id, 0),
        "previous": {sid: {"output": outs[-1] if outs else None} for sid, outs in rounds.items()},
        "history": {sid: list(outs) for sid, outs in rounds.items()},
    }


# ---- run inputs ---------------------------------------------------------------------------------


class InputsError(ValueError):
    """The run's inputs do not fit the workflow's `inputs` section."""


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def prepare_inputs(workflow: Workflow, given: dict[str, Any]) -> dict[str, Any]:
    """Apply defaults and coerce strings (from a form or `--input k=v`) to each input's type."""
    unknown = sorted(set(given) - set(workflow.inputs))
    if unknown:
        known = ", ".join(f"`{n}`" for n in workflow.inputs) or "none"
        raise InputsError(f"unknown input(s) {', '.join(f'`{u}`' for u in unknown)}; this workflow takes {known}")
    out: dict[str, Any] = {}
    for name, spec in workflow.inputs.items():
        if name in given and given[name] is not None:
            out[name] = _coerce(name, spec, given[name])
        elif spec.default is not None:
            out[name] = spec.default
        else:
            raise InputsError(f"input `{name}` is required: pass it with `--input {name}=...` or in the Run form")
    return out


def _coerce(name: str, spec: InputSpec, value: Any) -> Any:
    try:
        match spec.type:
            case "string" | "text":
                return value if isinstance(value, str) else json.dumps(value)
            case "integer":
                if isinstance(value, bool):
                    raise ValueError
                return int(value)
            case "number":
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            case "boolean":
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in _TRUE | _FALSE:
                    return text in _TRUE
                raise ValueError
            case "list":
                return _as_list(value)
            case "file":
                return read_file_input(name, spec, value)
    except InputsError:
        raise
    except (TypeError, ValueError):
        pass
    raise InputsError(f"input `{name}` should be {spec.type}, got {value!r}")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        parsed = json.loads(text)
        if isinstance(parsed, list):
            return _as_list(parsed)
        raise ValueError
    return [part.strip() for part in text.split(",") if part.strip()]


# ---- file inputs --------------------------------------------------------------------------------

FILE_PREVIEW_CHARS = 200


def file_upload(name: str, content: str) -> dict[str, str]:
    """The value a form or the CLI gives a `file` input: the file's name (for its format) and text."""
    return {"name": name, "content": content}


def read_file_input(name: str, spec: InputSpec, value: Any) -> Any:
    """A file's contents as the run reads them: text, CSV rows (objects by header) or JSON."""
    filename, content = (value.get("name", ""), value.get("content")) if isinstance(value, dict) else ("", value)
    if not isinstance(content, str):
        raise InputsError(f"input `{name}` should be a file's text, got {type(content).__name__}")
    size = len(content.encode("utf-8"))
    if size > spec.max_bytes:
        raise InputsError(f"input `{name}`: the file is {size:,} bytes, over this input's limit of "
                          f"{spec.max_bytes:,} (`max_bytes`); give a smaller file")
    fmt = file_format(str(filename), spec.format)
    if fmt == "json":
        try:
            return json.loads(content)
        except json.JSONDecodeError as exc:
            raise InputsError(f"input `{name}`: the file is not valid JSON ({exc})") from None
    if fmt == "csv":
        try:
            return [dict(row) for row in csv.DictReader(io.StringIO(content))]
        except csv.Error as exc:
            raise InputsError(f"input `{name}`: the file is not valid CSV ({exc})") from None
    return content


def input_previews(workflow: Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the trace and history record them: a file by its size and first characters."""
    shown = dict(inputs)
    for name, spec in workflow.inputs.items():
        if spec.type == "file" and name in shown:
            text = shown[name] if isinstance(shown[name], str) else json.dumps(shown[name], default=str)
            cut = "…" if len(text) > FILE_PREVIEW_CHARS else ""
            shown[name] = f"[file, {len(text.encode('utf-8')):,} bytes] {text[:FILE_PREVIEW_CHARS]}{cut}"
    return shown
