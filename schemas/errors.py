"""Exceptions of the config package.

    SchemaError                      base of everything raised by `schemas`
    ├── ConfigError (ValueError)     a config failed to load; `.issues` lists every problem found
    ├── TemplateError                a template could not be rendered (a value it reads is missing)
    │   └── TemplateSyntaxError (ValueError)   a template is malformed
    └── ExpressionError (ValueError) an `until:` / `when:` expression is malformed

Config mistakes are reported as `Issue`s (file, line, column, path, message, fix) so the CLI, the
chat and the UI can show all of them at once; the other errors carry a message that quotes the
offending text and says what to write instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.issues import Issue


class SchemaError(Exception):
    """Base class of every error raised by the `schemas` package."""


class ConfigError(SchemaError, ValueError):
    """A config could not be loaded; `issues` holds every error found (never just the first)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(str(issue) for issue in self.issues) or "invalid config"
        super().__init__(lines)


class TemplateError(SchemaError):
    """A template reads a value that does not exist at render time."""


class TemplateSyntaxError(TemplateError, ValueError):
    """A template is not made of plain `{{ dotted.name }}` references."""


class ExpressionError(SchemaError, ValueError):
    """An expression uses something outside the small safe language; `column` is 1-based."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        self.reason = message
        super().__init__(f"{message} (column {column})" if column is not None else message)
