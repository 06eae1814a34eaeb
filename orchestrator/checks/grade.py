"""Deterministic expectations, graded on a finished run's outputs: pure functions, no model calls.

The value checked is the final output, a step's output, or a field of either (`sections.0.title`
walks objects and list indexes). Text comparisons work on the value's text: a string as it is,
anything else as its JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from schemas.checks import Check, Expectation

_MISSING: Any = object()


@dataclass(frozen=True)
class Finding:
    """What one expectation (or cap) found: passed or not, and why, in plain words."""

    what: str  # e.g. "contains 'tide' (final output)"
    passed: bool
    reason: str = ""


def target_label(e: Expectation) -> str:
    where = f"step `{e.step}`" if e.step else "final output"
    return f"{where}.{e.field}" if e.field else where


def describe(e: Expectation) -> str:
    """A short label for reports: `contains 'tide' (final output)`."""
    match e.kind:
        case "equals":
            what = f"equals {_short(e.equals)}"
        case "contains":
            what = f"contains {_short(e.contains)}"
        case "regex":
            what = f"matches /{_short(e.regex, 40, quote=False)}/"
        case "shape":
            what = "matches the shape"
        case "bounds":
            what = " and ".join(p for p in (f">= {e.min:g}" if e.min is not None else "",
                                            f"<= {e.max:g}" if e.max is not None else "") if p)
        case _:
            what = f"judge: {_short(e.judge, 60, quote=False)}"
    return f"{what} ({target_label(e)})"


def target_value(e: Expectation, output: Any, outputs: dict[str, Any]) -> tuple[Any, str | None]:
    """The value `e` checks, or (None, why it is missing)."""
    if e.step is not None:
        if e.step not in outputs:
            return None, f"step `{e.step}` has no output (it did not run, or did not finish)"
        value = outputs[e.step]
    else:
        value = output
    if e.field:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None, f"the output is text, so it has no field `{e.field}`"
        for part in e.field.split("."):
            value = _step_into(value, part)
            if value is _MISSING:
                return None, f"the output has no `{e.field}`"
    return value, None


def grade(e: Expectation, output: Any, outputs: dict[str, Any]) -> Finding:
    """Grade one deterministic expectation (`judge` is graded by `orchestrator.checks.judge`)."""
    label = describe(e)
    value, missing = target_value(e, output, outputs)
    if missing is not None:
        return Finding(label, False, missing)
    text = as_text(value)
    match e.kind:
        case "equals":
            ok = _equal(value, e.equals)
            return Finding(label, ok, "" if ok else f"got {_short(value)}")
        case "contains":
            ok = str(e.contains).casefold() in text.casefold()
            return Finding(label, ok, "" if ok else f"not found in {_short(text)}")
        case "regex":
            ok = re.search(str(e.regex), text) is not None
            return Finding(label, ok, "" if ok else f"no match in {_short(text)}")
        case "shape":
            return Finding(label, *_shape(value, e.shape or {}))
        case "bounds":
            return Finding(label, *_bounds(value, e.min, e.max))
    raise ValueError(f"`{e.kind}` is not graded here")


def caps(check: Check, cost_usd: float, tokens: int, latency_s: float) -> list[Finding]:
    """The case's caps on the run (judges apart)."""
    found: list[Finding] = []
    for cap, used, label, unit in ((check.max_cost_usd, cost_usd, "cost", "$"),
                                   (check.max_tokens, tokens, "tokens", ""),
                                   (check.max_latency_s, latency_s, "latency", "s")):
        if cap is None:
            continue
        shown = (f"${used:.5f}", f"${cap:g}") if unit == "$" else (f"{used:g}{unit}", f"{cap:g}{unit}")
        ok = used <= cap
        found.append(Finding(f"{label} <= {shown[1]}", ok, "" if ok else f"{label} was {shown[0]}, over {shown[1]}"))
    return found


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _step_into(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list):
        digits = part[1:] if part.startswith("-") else part
        if digits.isdigit() and -len(value) <= int(part) < len(value):
            return value[int(part)]
    return _MISSING


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.strip() == wanted.strip()
    if isinstance(value, str) and not isinstance(wanted, str):  # a structured answer that came as text
        try:
            return json.loads(value) == wanted
        except ValueError:
            return False
    return bool(value == wanted)


def _shape(value: Any, schema: dict[str, Any]) -> tuple[bool, str]:
    import jsonschema

    if isinstance(value, str) and schema.get("type") not in (None, "string"):
        try:
            value = json.loads(value)
        except ValueError:
            return False, "the output is text, not JSON"
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return True, ""
    where = ".".join(str(p) for p in error.absolute_path)
    return False, (f"at `{where}`: " if where else "") + _short(error.message, 200, quote=False)


def _bounds(value: Any, low: float | None, high: float | None) -> tuple[bool, str]:
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return False, f"not a number: {_short(value)}"
    if isinstance(number, bool) or not isinstance(number, int | float):
        return False, f"not a number: {_short(value)}"
    if low is not None and number < low:
        return False, f"{number:g} is below {low:g}"
    if high is not None and number > high:
        return False, f"{number:g} is above {high:g}"
    return True, ""


def _short(value: Any, limit: int = 80, *, quote: bool = True) -> str:
    text = value if isinstance(value, str) else as_text(value)
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text) if quote and isinstance(value, str) else text
