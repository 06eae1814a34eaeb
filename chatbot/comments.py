"""Helpful comments for a fresh draft, taken from the model tree's field descriptions.

A new config gets one comment above each top-level section (what `inputs`, `agents`, `limits`...
mean) so a first-time user can read it without the docs. The words come from
`Workflow.model_fields[...].description`, never from a second hand-written list, and a section that
already has a comment above it (the user's own) is left alone.
"""

from __future__ import annotations

import re
import textwrap

from schemas.models import Workflow

_TOP_KEY = re.compile(r"^([a-z_]+):")
_SKIP = {"version", "name"}


def section_comment(key: str) -> str | None:
    """The comment for a top-level key, or None for keys that need none."""
    field = Workflow.model_fields.get(key)
    if key in _SKIP or field is None or not field.description:
        return None
    text = field.description.replace("`", "")
    return "\n".join("# " + line for line in textwrap.wrap(text, 96))


def annotate(yaml_text: str) -> str:
    """`yaml_text` with a comment above each top-level section that has none yet."""
    out: list[str] = []
    for line in yaml_text.splitlines():
        match = _TOP_KEY.match(line)
        if match:
            comment = section_comment(match.group(1))
            previous = out[-1].strip() if out else ""
            if comment and not previous.startswith("#"):
                if out and previous:
                    out.append("")
                out.extend(comment.splitlines())
        out.append(line)
    return "\n".join(out) + ("\n" if yaml_text.endswith("\n") else "")
