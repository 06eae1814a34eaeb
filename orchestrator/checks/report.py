"""Reports of a `CheckReport`: table rows (CLI and Run tab alike) and JUnit XML for CI.

JUnit: one `<testsuite>` per check run, one `<testcase>` per case (classname = workflow, so CI
groups them), a `<failure>` carrying every failed attempt's reasons; the run ids and costs go in
`<properties>` and `system-out` so a CI log leads back to the runs in history.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from orchestrator.checks.results import CaseResult, CheckReport

HEADERS = ("case", "result", "passes", "cost $", "tokens", "latency s", "judge $", "why")


@dataclass(frozen=True)
class TableRow:
    case: str
    result: str  # PASS | FAIL
    passes: str  # "2/3"
    cost_usd: float
    tokens: int
    latency_s: float  # the slowest attempt
    judge_cost_usd: float
    why: str

    def cells(self) -> tuple[str, ...]:
        return (self.case, self.result, self.passes, f"{self.cost_usd:.5f}", str(self.tokens),
                f"{self.latency_s:.2f}", f"{self.judge_cost_usd:.5f}", self.why)


def table_rows(report: CheckReport) -> list[TableRow]:
    return [_row(case) for case in report.cases]


def _row(case: CaseResult) -> TableRow:
    return TableRow(case.name, "PASS" if case.passed else "FAIL", f"{case.passes}/{case.check.repeat}",
                    case.total("cost_usd"), int(case.total("tokens")), case.max_latency_s,
                    case.total("judge_cost_usd"), case.reason)


def text_table(report: CheckReport, width: int | None = None) -> str:
    """A fixed-width table with a summary line; `width` (a terminal's) cuts the reasons to fit."""
    rows = [HEADERS, *(r.cells() for r in table_rows(report))]
    sizes = [max(len(r[i]) for r in rows) for i in range(len(HEADERS) - 1)]
    room = max(30, width - sum(sizes) - 2 * len(sizes)) if width else 2000
    lines = ["  ".join([*(c.ljust(s) for c, s in zip(r[:-1], sizes, strict=True)), _cut(r[-1], room)]).rstrip()
             for r in rows]
    failed = len(report.failed)
    lines.append(f"\n{len(report.cases) - failed} passed, {failed} failed — {report.workflow} on {report.model}"
                 f" in {report.wall_s:.2f}s (check run {report.check_run_id})")
    return "\n".join(lines)


def junit_xml(report: CheckReport) -> str:
    suite = ET.Element("testsuite", name=f"graphwright checks: {report.workflow}",
                       tests=str(len(report.cases)), failures=str(len(report.failed)), errors="0",
                       time=f"{report.wall_s:.3f}")
    props = ET.SubElement(suite, "properties")
    for name, value in (("model", report.model), ("config_hash", report.config_hash),
                        ("check_run_id", report.check_run_id)):
        ET.SubElement(props, "property", name=name, value=value)
    for case in report.cases:
        element = ET.SubElement(suite, "testcase", classname=report.workflow, name=case.name,
                                time=f"{case.total('latency_s'):.3f}")
        if not case.passed:
            failure = ET.SubElement(element, "failure", message=_cut(case.reason, 500), type="CheckFailed")
            failure.text = "\n".join(f"attempt {a.attempt} (run {a.run_id}): " + "; ".join(a.reasons)
                                     for a in case.attempts if not a.passed)
        out = ET.SubElement(element, "system-out")
        out.text = "\n".join(f"attempt {a.attempt}: run {a.run_id}, {a.status}, ${a.cost_usd:.5f}, "
                             f"{a.tokens} tokens, {a.latency_s:.2f}s, judge ${a.judge_cost_usd:.5f}"
                             + (f", judge: {a.judge_reason}" if a.judge_reason else "") for a in case.attempts)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
