"""Model and tool output made inert before it reaches the page.

Everything a model, a tool or a config author wrote is untrusted: it must not run script, load an
image or fetch anything. HTML we build ourselves goes through `esc`; chat text goes through
`safe_markdown`, which keeps markdown formatting but escapes raw HTML and disarms image syntax.
"""

from __future__ import annotations

import html
import re

from orchestrator.text import shorten

_IMAGE = re.compile(r"!\[")
_MAX_PREVIEW = 2_000


_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "@": "&#64;", "`": "&#96;"})


def esc(value: object) -> str:
    """HTML-escape any value (quotes included) for use in text or attribute positions.

    `gr.HTML` treats its template as a JS template string and a Handlebars template, so `${`, `{{`,
    `@children` and backticks are encoded too: untrusted text can never become a template tag.
    """
    return html.escape("" if value is None else str(value), quote=True).translate(_TEMPLATE_CHARS)


def safe_markdown(text: str) -> str:
    """Markdown with raw HTML shown as text and `![..](..)` images shown as plain text, never loaded."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _IMAGE.sub(r"!\\[", escaped)


def clip(text: str, limit: int = _MAX_PREVIEW) -> str:
    """Cut long text for previews, saying how much was left out."""
    if len(text) <= limit:
        return text
    kept = shorten(text, limit)
    return f"{kept} ({len(text) - len(kept) + 1} more characters)"
