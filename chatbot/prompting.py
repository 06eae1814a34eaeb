"""The system prompt: fixed guidance from `prompts/system.md` plus the format, generated.

The description of the format comes from `schemas.describe_format()` (built from the model tree),
and the example config from the guided form's builder (validated by the tests), so the
assistant's knowledge cannot drift from what the validator accepts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

_FORMAT_MARKER = "{{FORMAT}}"
_EXAMPLE_MARKER = "{{EXAMPLE}}"
_FUNCTIONS_MARKER = "{{FUNCTIONS}}"
_EXAMPLE_PATTERN = "review_loop"


def _template(name: str) -> str:
    return resources.files("chatbot.prompts").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def system_prompt() -> str:
    """The assistant's system prompt with the generated format description filled in."""
    from schemas import describe_format

    text = _template("system.md").replace(_FORMAT_MARKER, describe_format().strip())
    text = text.replace(_FUNCTIONS_MARKER, installed_functions_text())
    return text.replace(_EXAMPLE_MARKER, json.dumps(example_config(), indent=1))


def installed_functions_text() -> str:
    """The function tools this server offers (`type: function`), one line each, for the prompt."""
    from schemas.functions import installed_functions

    found = installed_functions().functions.values()
    lines = [f"  - `{f.name}({', '.join(f.parameters().get('properties', {}))})`: {f.description}" for f in found]
    return "\n".join(lines) or "  - (none installed)"


def example_config() -> dict[str, Any]:
    """A small complete config for the prompt, built by the guided form (so a test validates it)."""
    from chatbot.guided.patterns import find_pattern, questions_for

    pattern = find_pattern(_EXAMPLE_PATTERN)
    if pattern is None:
        raise LookupError(f"guided pattern `{_EXAMPLE_PATTERN}` is missing; pick another for the prompt")
    return pattern.build({q.key: q.default for q in questions_for(pattern)})


def draft_message(draft_yaml: str, problems: list[str]) -> str:
    """The message carrying the current draft in full (and its problems, after a hand edit)."""
    if not draft_yaml.strip():
        return "There is no draft yet."
    text = f"The current draft (the person may have edited it by hand; keep their comments):\n```yaml\n{draft_yaml.rstrip()}\n```"
    if problems:
        text += "\nIt does not validate yet:\n" + "\n".join(f"- {p}" for p in problems)
    return text


def repair_message(problems: list[str]) -> str:
    """What the model gets back after a rejected change (pydantic-ai style retry prompt)."""
    listed = "\n".join(f"- {p}" for p in problems[:20])
    return f"The change was rejected:\n{listed}\nFix these and try again."
