"""Versions on the page, as pure mappers: labels, the side-by-side table, the diff block."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ui.versions_view import compare_html, diff_markdown, version_choices, version_label, version_table

A, B = "3f2a9c1d" + "0" * 56, "77aa00bb" + "1" * 56


def _frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"workflow": "w", "version": A, "first_seen": datetime(2026, 11, 29, 9, 5), "runs": 4, "avg_cost_usd": 0.02,
         "total_cost_usd": 0.08, "avg_tokens": 1500.0, "p50_latency_s": 2.0, "p95_latency_s": 2.9, "failure_rate": 0.25,
         "avg_estimate_usd": 0.01, "avg_actual_usd": 0.02, "avg_estimate_tokens": 1200.0, "avg_actual_tokens": 600.0,
         "above_worst_case": 1, "check_pass_rate": None},
        {"workflow": "w", "version": B, "first_seen": datetime(2026, 11, 29, 10, 0), "runs": 2, "avg_cost_usd": 0.002,
         "total_cost_usd": 0.004, "avg_tokens": 1500.0, "p50_latency_s": 1.0, "p95_latency_s": 1.0, "failure_rate": 0.0,
         "avg_estimate_usd": None, "avg_actual_usd": None, "avg_estimate_tokens": None, "avg_actual_tokens": None,
         "above_worst_case": 0, "check_pass_rate": 0.5},
    ])


def test_a_version_reads_as_short_hash_and_first_seen() -> None:
    assert version_label(A, datetime(2026, 11, 29, 9, 5, 7)) == "3f2a9c1d · 2026-11-29 09:05"
    assert version_label(None, None) == "" and version_label(A, None) == "3f2a9c1d"
    frame = _frame().assign(runs=[4, 2])
    assert version_choices(frame)[0] == ("w · 3f2a9c1d · 2026-11-29 09:05 · 4 runs", A)


def test_the_version_table_shows_the_estimators_error() -> None:
    table = version_table(_frame())
    assert table["version"].tolist() == ["3f2a9c1d · 2026-11-29 09:05", "77aa00bb · 2026-11-29 10:00"]
    assert table.iloc[0]["cost_ratio"] == 2.0 and table.iloc[0]["token_ratio"] == 0.5
    assert table.iloc[1]["cost_ratio"] == ""  # no estimate recorded: nothing to compare


def test_side_by_side_rows_and_missing_values() -> None:
    html = compare_html(_frame(), ("3f2a9c1d", "77aa00bb"))
    assert "<th>A · 3f2a9c1d</th><th>B · 77aa00bb</th>" in html
    assert "<tr><th>Failure rate</th><td>25%</td><td>0%</td></tr>" in html
    assert "<tr><th>Check pass rate</th><td>–</td><td>50%</td></tr>" in html
    assert "<tr><th>Latency p95</th><td>2.90s</td><td>1.00s</td></tr>" in html
    assert "<script" not in compare_html(_frame(), ("<script>x</script>", "b"))


def test_the_diff_block_keeps_the_words_and_fences_the_yaml() -> None:
    text = diff_markdown("- loop `x` may run 5 times instead of 3", "-  max_iterations: 3\n+  max_iterations: 5")
    assert text.startswith("**What changed**\n\n- loop `x` may run 5 times")
    assert "```diff\n-  max_iterations: 3\n+  max_iterations: 5\n```" in text
    assert "````diff" in diff_markdown("", "+ prompt: '```'")
    assert diff_markdown("", "") == ""
