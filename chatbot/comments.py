"""Helpful comments for a fresh draft, taken from the model tree's field descriptions.

A new config gets a short comment on each top-level section line (what `inputs`, `agents`,
`limits`... mean) so a first-time user can read it without the docs. The words come from
`Workflow.model_fields[...].description`, never from a second hand-written list. They sit at the
end of the key's line (`agents:  # The agents, by name.`): a comment on a line of its own would
belong, for the YAML round-trip, to the end of the previous section, and drift when that grows.
"""

from __future__ import annotations

import re

from schemas.models import Workflow

_TOP_KEY = re.compile(r"^([a-z_]+):(.*)$")
_SKIP = frozenset({"version", "name"})
_MAX_COMMENT = 90


def section_comment(key: str) -> str | None:
    """The comment for a top-level key, or None for keys that need none."""
    field = Workflow.model_fields.get(key)
    if key in _SKIP or field is None or not field.description:
        return None
    text = field.description.replace("`", "")
    first = text.split("; ")[0].split(". ")[0].rstrip(".")
    return first if len(first) <= _MAX_COMMENT else first[: _MAX_COMMENT - 1] + "…"


def annotate(yaml_text: str) -> str:
    """`yaml_text` with a comment on each top-level section line that has none yet."""
    out: list[str] = []
    for line in yaml_text.splitlines():
        match = _TOP_KEY.match(line)
        comment = section_comment(match.group(1)) if match else None
        if comment and "#" not in match.group(2) and match.group(2).strip() in ("", "|-", "|", ">"):
            line = f"{line}  # {comment}."
        out.append(line)
    return "\n".join(out) + ("\n" if yaml_text.endswith("\n") else "")
