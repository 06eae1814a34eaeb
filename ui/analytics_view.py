"""History DataFrames → what the Analytics tab shows: KPI cards, chart-ready frames, table rows.

Pure functions over pandas, tested without a server. Charts use Gradio's native plots, which want
plain columns (strings for categories, datetimes for time), and never an empty frame with no columns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal

import pandas as pd

from ui.safe_text import esc, safe_markdown

RANGES = ("Last 24 hours", "Last 7 days", "Last 30 days", "All time")
_RANGE_DAYS = (1, 7, 30, None)
TimeBucket = Literal["hour", "day"]
_HOURLY_UP_TO = timedelta(days=2)
_MAX_BUCKETS = 400  # gaps are filled with zeros up to this many buckets
_MAX_BARS = 20
_LABEL = MappingProxyType({"hour": "%b %d %H:00", "day": "%Y-%m-%d"})
RUN_TABLE_COLUMNS = ("run_id", "workflow", "version", "status", "started_at", "duration_s", "tokens_in", "tokens_out",
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


def time_bucket(times: pd.Series) -> TimeBucket:
    """Hours while the data spans two days or less, days beyond: the axis never shows milliseconds."""
    stamps = pd.to_datetime(times)
    if stamps.empty or stamps.max() - stamps.min() <= _HOURLY_UP_TO:
        return "hour"
    return "day"


def _over_time(frame: pd.DataFrame, group: str, values: list[str]) -> pd.DataFrame:
    """`frame` (hourly `bucket`, `group`, values) summed into hour or day buckets, gaps filled with 0,
    `bucket` turned into a readable label; `.attrs["bucket"]` says which size was chosen."""
    stamps = pd.to_datetime(frame["bucket"])
    size = time_bucket(stamps)
    unit = "h" if size == "hour" else "D"
    out = frame.assign(bucket=stamps.dt.floor(unit), **{group: frame[group].astype(str)})
    out = out.groupby(["bucket", group], as_index=False, sort=True)[values].sum()
    every = pd.date_range(out["bucket"].min(), out["bucket"].max(), freq=unit)
    missing = every.difference(pd.DatetimeIndex(out["bucket"]))
    if 0 < len(every) <= _MAX_BUCKETS and len(missing):
        filler = pd.DataFrame({"bucket": missing, group: out[group].iloc[0], **{v: 0.0 for v in values}})
        out = pd.concat([out, filler], ignore_index=True).sort_values(["bucket", group], kind="stable")
    out["bucket"] = out["bucket"].dt.strftime(_LABEL[size])
    for value in values:
        out[value] = out[value].astype(float)
    out = out.reset_index(drop=True)
    out.attrs["bucket"] = size
    return out


def cost_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """bucket (hour or day label), model, cost_usd — one bar segment per model per bucket."""
    if frame.empty:
        return pd.DataFrame({"bucket": pd.Series(dtype=str), "model": pd.Series(dtype=str),
                             "cost_usd": pd.Series(dtype=float)})
    return _over_time(frame[["bucket", "model", "cost_usd"]], "model", ["cost_usd"])


def tokens_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """bucket (hour or day label), kind (tokens_in/out), tokens — long form for grouped bars."""
    if frame.empty:
        return pd.DataFrame({"bucket": pd.Series(dtype=str), "kind": pd.Series(dtype=str),
                             "tokens": pd.Series(dtype=float)})
    long = frame.melt(id_vars=["bucket"], value_vars=["tokens_in", "tokens_out"], var_name="kind",
                      value_name="tokens")
    return _over_time(long, "kind", ["tokens"])


def latency_chart(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """`label` (text), stat (p50/p95), seconds — grouped bars of latency per step or model.

    Steps keep their `workflow`: the same step name in two workflows is two different steps. Only
    the slowest steps are kept, so thousands of runs of many workflows still make a readable chart.
    """
    keep = ["workflow", label] if "workflow" in frame.columns and label != "workflow" else [label]
    if frame.empty:
        return pd.DataFrame({**{k: pd.Series(dtype=str) for k in keep}, "stat": pd.Series(dtype=str),
                             "seconds": pd.Series(dtype=float)})
    top = frame.sort_values("p95_s", ascending=False, kind="stable").head(_MAX_BARS).sort_values(keep, kind="stable")
    long = top.melt(id_vars=keep, value_vars=["p50_s", "p95_s"], var_name="stat", value_name="seconds")
    long["stat"] = long["stat"].str.replace("_s", "", regex=False)
    for key in keep:
        long[key] = long[key].astype(str)
    long["seconds"] = long["seconds"].astype(float).fillna(0.0)
    return long


def sql_note(note: str, seconds: float) -> str:
    """What the SQL box says above its results: the row count (and any cut) and the time taken."""
    return f"{safe_markdown(note)} · {seconds:.2f}s"


def sql_error_note(message: str) -> str:
    """A refused or failed query, shown in place of the results (it stays until the next query)."""
    return f"**The query did not run.** {safe_markdown(message)}"


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs table's columns, rounded for reading; run ids stay whole (rows are selected by them)."""
    from ui.versions_view import version_label

    if "config_hash" in frame.columns:  # the config version: short hash and when it was first run
        seen = frame["version_first_seen"] if "version_first_seen" in frame.columns else [None] * len(frame)
        frame = frame.assign(version=[version_label(v, s) for v, s in zip(frame["config_hash"], seen, strict=True)])
    cols = [c for c in RUN_TABLE_COLUMNS if c in frame.columns]
    out = frame[cols].copy() if cols else pd.DataFrame(columns=list(RUN_TABLE_COLUMNS))
    if "started_at" in out:
        out["started_at"] = out["started_at"].astype(str).str.slice(0, 19)
    for col in ("duration_s", "cost_usd"):
        if col in out:
            out[col] = out[col].astype(float).round(4)
    return out.fillna("")


def figure(frame: pd.DataFrame, kind: str, x: str, y: str, color: str, title: str,
           zero_note: str | None = None) -> object:
    """A plotly figure of a chart frame: stacked or grouped bars, or lines, always from 0 up.

    Time frames carry `.attrs["bucket"]` and are drawn on a category axis of readable labels.
    Steps (frames with a `workflow` column) are grouped under their workflow on a two-level axis.
    `zero_note` replaces a chart whose values are all zero (no price known yet, say) by that note.
    Plotly is imported here, not at module import: the app must start fast.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    if frame.empty:
        _note(fig, "No data for these filters yet")
    elif zero_note is not None and not frame[y].astype(float).abs().sum():
        _note(fig, zero_note)
        fig.update_yaxes(visible=True, range=[0, 1])
    else:
        nested = "workflow" in frame.columns and x != "workflow"
        for name, part in frame.groupby(color, sort=False):
            xs = [part["workflow"].tolist(), part[x].tolist()] if nested else part[x].tolist()
            if kind == "line":
                fig.add_scatter(x=xs, y=part[y].tolist(), name=str(name), mode="lines+markers")
            else:
                fig.add_bar(x=xs, y=part[y].tolist(), name=str(name))
        fig.update_layout(barmode="stack" if kind == "stack" else "group")
        fig.update_xaxes(type="multicategory" if nested else "category")
        fig.update_yaxes(rangemode="tozero")
    size = frame.attrs.get("bucket")
    fig.update_layout(title=title.format(bucket=size or "day"), height=320,
                      margin={"l": 40, "r": 10, "t": 40, "b": 40}, legend_title_text="")
    return fig


def _note(fig: object, text: str) -> None:
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
