"""What validation reports: one `Issue` per problem, and the report holding all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from schemas.models import Workflow

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """One problem in a config, located like a compiler error (1-based line and column)."""

    file: str
    line: int
    column: int
    path: Path
    message: str
    fix: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        fix = f" ({self.fix})" if self.fix else ""
        return f"{self.file}:{self.line}:{self.column}: {kind}{self.message}{fix}"

    @property
    def dotted_path(self) -> str:
        """The YAML path as people write it, e.g. `steps[2].prompt`."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": list(self.path),
            "message": self.message,
            "fix": self.fix,
            "severity": self.severity,
        }


@dataclass
class ValidationReport:
    """Everything `validate_text` found; `workflow` is set only when there are no errors."""

    workflow: Workflow | None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    upgraded: list[str] = field(default_factory=list)  # what migrating an older version changed

    @property
    def ok(self) -> bool:
        return not self.errors and self.workflow is not None

    @property
    def issues(self) -> list[Issue]:
        return sorted(self.errors + self.warnings, key=lambda i: (i.line, i.column))
