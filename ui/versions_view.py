"""Config versions on the page: labels, the per-version table, and two versions side by side.

Pure functions over the frames of `history.versions` (tested without a server). A version reads
as its short hash and the time it was first run, e.g. `3f2a9c1d · 2026-11-29 19:05`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from schemas.versions import short_hash
from ui.safe_text import esc, safe_markdown

# (label, column, format) of the side-by-side comparison rows.
_COMPARE_ROWS = (
    ("Runs", "runs", "{:.0f}"),
    ("Avg cost / run", "avg_cost_usd", "${:.6f}"),
    ("Total cost", "total_cost_usd", "${:.6f}"),
    ("Avg tokens / run", "avg_tokens", "{:,.0f}"),
    ("Latency p50", "p50_latency_s", "{:.2f}s"),
    ("Latency p95", "p95_latency_s", "{:.2f}s"),
    ("Failure rate", "failure_rate", "{:.0%}"),
    ("Check pass rate", "check_pass_rate", "{:.0%}"),
    ("Estimated cost / run", "avg_estimate_usd", "${:.6f}"),
    ("Actual ÷ estimate (cost)", "cost_ratio", "{:.2f}×"),
    ("Actual ÷ estimate (tokens)", "token_ratio", "{:.2f}×"),
)
VERSION_TABLE_COLUMNS = ("workflow", "version", "runs", "avg_cost_usd", "avg_estimate_usd", "cost_ratio",
                         "avg_tokens", "avg_estimate_tokens", "token_ratio", "p50_latency_s", "p95_latency_s",
                         "failure_rate", "check_pass_rate", "above_worst_case")


def version_label(version: Any, first_seen: Any) -> str:
    """`3f2a9c1d · 2026-11-29 19:05`; empty for a run recorded before versions were."""
    if not isinstance(version, str) or not version:
        return ""
    seen = "" if first_seen is None or pd.isna(first_seen) else f" · {str(first_seen)[:16]}"
    return f"{short_hash(version)}{seen}"


def version_choices(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Dropdown choices (label, full hash) from `history.versions.versions`, newest first."""
    return [(f"{row.workflow} · {version_label(row.version, row.first_seen)} · {int(row.runs)} runs", row.version)
            for row in frame.itertuples()]


def with_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds the estimator's error: actual ÷ estimate, for cost and for tokens (None without estimates)."""
    out = frame.copy()
    for name, actual, estimate in (("cost_ratio", "avg_actual_usd", "avg_estimate_usd"),
                                   ("token_ratio", "avg_actual_tokens", "avg_estimate_tokens")):
        est = pd.to_numeric(out.get(estimate), errors="coerce") if estimate in out else pd.Series(dtype=float)
        act = pd.to_numeric(out.get(actual), errors="coerce") if actual in out else pd.Series(dtype=float)
        out[name] = (act / est.where(est > 0)).astype(float) if len(out) else pd.Series(dtype=float)
    return out


def version_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-version table of the Analytics tab: short hashes, rounded numbers."""
    out = with_ratios(frame)
    if "version" in out:
        out["version"] = [version_label(v, s) for v, s in zip(out["version"], out["first_seen"], strict=True)]
    cols = [c for c in VERSION_TABLE_COLUMNS if c in out.columns]
    out = out[cols] if cols else pd.DataFrame(columns=list(VERSION_TABLE_COLUMNS))
    numeric = [c for c in cols if c not in ("workflow", "version")]
    out[numeric] = out[numeric].apply(pd.to_numeric, errors="coerce").round(6)
    return out.astype(object).where(out.notna(), "")


def _cell(value: Any, fmt: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if number != number else fmt.format(number)


def compare_html(frame: pd.DataFrame, labels: tuple[str, str]) -> str:
    """Two versions' runs side by side (rows from `history.versions.compare`, in A, B order)."""
    rows = with_ratios(frame)
    a = rows.iloc[0].to_dict() if len(rows) > 0 else {}
    b = rows.iloc[1].to_dict() if len(rows) > 1 else {}
    body = "".join(f"<tr><th>{esc(label)}</th><td>{esc(_cell(a.get(col), fmt))}</td>"
                   f"<td>{esc(_cell(b.get(col), fmt))}</td></tr>" for label, col, fmt in _COMPARE_ROWS)
    head = f"<tr><th></th><th>A · {esc(labels[0])}</th><th>B · {esc(labels[1])}</th></tr>"
    return f"<table class='gw-compare' id='versions-compare-table'>{head}{body}</table>"


def diff_markdown(plain: str, unified: str) -> str:
    """The plain-words change, then the unified YAML diff in a fenced block."""
    if not plain and not unified:
        return ""
    text = f"**What changed**\n\n{safe_markdown(plain)}" if plain else ""
    if unified:
        fence = "````" if "```" in unified else "```"
        text += f"\n\n{fence}diff\n{unified}\n{fence}"
    return text
