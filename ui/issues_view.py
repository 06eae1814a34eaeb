"""A `ValidationReport` → the markdown list under the editor: each problem with its line, quoted.

Line numbers come from the validator; the offending line of the user's text is quoted under each
problem so it can be found at a glance, and the suggested fix follows.
"""

from __future__ import annotations

from typing import Any

from ui.safe_text import clip


def _code(text: str) -> str:
    """Inline code that survives backticks in the quoted text."""
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _plain(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("![", "!\\[")


def issues_markdown(report: Any, text: str) -> str:
    """✓ / the list of errors and warnings with `line N, col M`, the quoted line, and the fix."""
    if not text.strip():
        return "_Empty: describe your workflow in the chat, pick an example, or type YAML here._"
    lines = text.splitlines()
    issues = list(getattr(report, "issues", [])) or [*report.errors, *report.warnings]
    upgraded = [f"- ↑ {_plain(note)}" for note in getattr(report, "upgraded", ())]
    if report.ok and not issues:
        return "\n".join(["✓ **Valid.** Ready to run.", *upgraded])
    head = "✓ **Valid**, with warnings:" if report.ok else f"✗ **{len(report.errors)} problem(s)** to fix:"
    out = [head, *upgraded]
    for issue in issues[:30]:
        icon = "⚠" if getattr(issue, "severity", "error") == "warning" else "✗"
        where = f"line {issue.line}, col {issue.column}"
        path = getattr(issue, "dotted_path", "")
        item = f"- {icon} **{where}**{f' ({_code(path)})' if path else ''}: {_plain(issue.message)}"
        if 1 <= issue.line <= len(lines) and lines[issue.line - 1].strip():
            item += f"\n  {_code(clip(lines[issue.line - 1].strip(), 120))}"
        if issue.fix:
            item += f"\n  → {_plain(issue.fix)}"
        out.append(item)
    if len(issues) > 30:
        out.append(f"- … and {len(issues) - 30} more")
    return "\n".join(out)
