"""The LangGraph state of a run, its reducers, and the template context built from it.

Nodes never mutate state: they return deltas that the reducers merge, which is what lets parallel
branches and map items write concurrently, and what the SQLite checkpointer persists after each
superstep. Counters are deltas too (`operator.add`), so a resumed run keeps its spend so far.
"""

from __future__ import annotations

import json
import operator
from typing import Annotated, Any, TypedDict

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
    return RunState(inputs=inputs, outputs={}, map_slots={}, map_items={}, loops={}, routes={},
                    steps_done=0, tokens_in=0, tokens_out=0, cost_usd=0.0, accounted=[])


def template_context(state: RunState, *, loop_id: str | None = None,
                     item_name: str | None = None) -> dict[str, Any]:
    """The `{"inputs", "steps", "item", "loop"}` dict templates and expressions read."""
    context: dict[str, Any] = {
        "inputs": state.get("inputs") or {},
        "steps": {sid: {"output": out} for sid, out in (state.get("outputs") or {}).items()},
    }
    if loop_id is not None:
        context["loop"] = {"iteration": (state.get("loops") or {}).get(loop_id, 0)}
    if "item" in state:
        context["item"] = state["item"]
        if item_name and item_name not in context:
            context[item_name] = state["item"]
    return context


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
