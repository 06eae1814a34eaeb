"""History DataFrames → what the Analytics tab shows: KPI cards, chart-ready frames, table rows.

Pure functions over pandas, tested without a server. Charts use Gradio's native plots, which want
plain columns (strings for categories, datetimes for time), and never an empty frame with no columns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from ui.safe_text import esc

RANGES = ("Last 24 hours", "Last 7 days", "Last 30 days", "All time")
_RANGE_DAYS = (1, 7, 30, None)
RUN_TABLE_COLUMNS = ("run_id", "workflow", "status", "started_at", "duration_s", "tokens_in", "tokens_out",
                     "cost_usd", "reason")


def date_from(choice: str, now: datetime | None = None) -> datetime | None:
    """The lower time bound a range choice means (None: all time)."""
    days = _RANGE_DAYS[RANGES.index(choice)] if choice in RANGES else None
    if days is None:
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return now - timedelta(days=days)


def _num(value: object, default: float = 0.0) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return default if out != out else out  # NaN


def kpi_html(kpis: pd.DataFrame) -> str:
    """Cards: runs, success rate, total and average cost, p50/p95 latency, tokens."""
    row = kpis.iloc[0].to_dict() if len(kpis) else {}
    runs = int(_num(row.get("runs")))
    rate = row.get("success_rate")
    cards = (
        ("Runs", f"{runs}"),
        ("Success", "–" if rate is None or _num(rate, -1) < 0 else f"{_num(rate) * 100:.0f}%"),
        ("Failed", f"{int(_num(row.get('failed')))}"),
        ("Total cost", f"${_num(row.get('total_cost_usd')):.4f}"),
        ("Avg cost / run", f"${_num(row.get('avg_cost_usd')):.4f}"),
        ("Latency p50", f"{_num(row.get('p50_latency_s')):.2f}s"),
        ("Latency p95", f"{_num(row.get('p95_latency_s')):.2f}s"),
        ("Tokens in / out", f"{int(_num(row.get('tokens_in')))} / {int(_num(row.get('tokens_out')))}"),
    )
    body = "".join(f"<div class='gw-kpi'><div class='gw-kpi-label'>{esc(k)}</div>"
                   f"<div class='gw-kpi-value'>{esc(v)}</div></div>" for k, v in cards)
    return f"<div class='gw-kpis'>{body}</div>"


def cost_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """day (text), model, cost_usd — one bar segment per model per day."""
    if frame.empty:
        return pd.DataFrame({"day": pd.Series(dtype=str), "model": pd.Series(dtype=str),
                             "cost_usd": pd.Series(dtype=float)})
    out = frame[["day", "model", "cost_usd"]].copy()
    out["day"] = out["day"].map(lambda d: str(d)[:10])
    out["cost_usd"] = out["cost_usd"].astype(float)
    return out


def tokens_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """bucket (datetime), kind (in/out), tokens — long form for a two-line chart."""
    if frame.empty:
        return pd.DataFrame({"bucket": pd.Series(dtype="datetime64[ns]"), "kind": pd.Series(dtype=str),
                             "tokens": pd.Series(dtype=float)})
    long = frame.melt(id_vars=["bucket"], value_vars=["tokens_in", "tokens_out"], var_name="kind",
                      value_name="tokens")
    long["bucket"] = pd.to_datetime(long["bucket"])
    long["tokens"] = long["tokens"].astype(float)
    return long


def latency_chart(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """`label` (text), stat (p50/p95), seconds — grouped bars of latency per step or model."""
    if frame.empty:
        return pd.DataFrame({label: pd.Series(dtype=str), "stat": pd.Series(dtype=str),
                             "seconds": pd.Series(dtype=float)})
    long = frame.melt(id_vars=[label], value_vars=["p50_s", "p95_s"], var_name="stat", value_name="seconds")
    long["stat"] = long["stat"].str.replace("_s", "", regex=False)
    long[label] = long[label].astype(str)
    long["seconds"] = long["seconds"].astype(float).fillna(0.0)
    return long


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs table's columns, rounded for reading; run ids stay whole (rows are selected by them)."""
    cols = [c for c in RUN_TABLE_COLUMNS if c in frame.columns]
    out = frame[cols].copy() if cols else pd.DataFrame(columns=list(RUN_TABLE_COLUMNS))
    if "started_at" in out:
        out["started_at"] = out["started_at"].astype(str).str.slice(0, 19)
    for col in ("duration_s", "cost_usd"):
        if col in out:
            out[col] = out[col].astype(float).round(4)
    return out.fillna("")


def figure(frame: pd.DataFrame, kind: str, x: str, y: str, color: str, title: str) -> object:
    """A plotly figure of a chart frame: grouped bars or lines, with an empty-state note.

    Plotly is imported here, not at module import: the app must start fast.
    """
    import plotly.express as px
    import plotly.graph_objects as go

    if frame.empty:
        fig = go.Figure()
        fig.add_annotation(text="No data for these filters yet", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    elif kind == "line":
        fig = px.line(frame, x=x, y=y, color=color, markers=True)
    else:
        fig = px.bar(frame, x=x, y=y, color=color, barmode="stack" if kind == "stack" else "group")
        fig.update_xaxes(type="category")
    fig.update_layout(title=title, height=320, margin={"l": 40, "r": 10, "t": 40, "b": 40},
                      legend_title_text="")
    return fig
