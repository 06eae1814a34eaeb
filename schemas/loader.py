"""One way in: text -> checked `Workflow`, or every problem found, located in the file.

Order: size cap and event-stream checks while building plain data (`safe_yaml`), migrations,
forbidden keys and credential-like values (`security`), the pydantic models, then the checks that
need the whole workflow (`semantic`). Nothing raised by any of them escapes as anything but an
`Issue`: a hostile file gets a report, never a traceback.
"""

from __future__ import annotations

from pathlib import Path as FilePath

from pydantic import ValidationError

from schemas.errors import ConfigError
from schemas.files import inline_files
from schemas.issues import Issue, ValidationReport
from schemas.locate import Locator
from schemas.migrations import MigrationProblem, migrate_with_notes
from schemas.models import Workflow
from schemas.pydantic_issues import pydantic_issues
from schemas.recovery import recover
from schemas.safe_yaml import MAX_BYTES, MAX_DEPTH, read_untrusted
from schemas.security import security_issues
from schemas.semantic import semantic_issues

_TOP_LEVEL_HINT = "start with `version: 2`, `name`, `agents` and `steps`"


def validate_text(
    text: str,
    filename: str = "<config>",
    *,
    sandbox_available: bool | None = None,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    base_dir: FilePath | None = None,
) -> ValidationReport:
    """Every error and warning in `text`; `.workflow` is set when there are no errors.

    `base_dir`: the config's folder, where `prompt_file`/`instructions_file` are read; None when
    the text came alone (then naming a file is an error that says how to inline it).
    """
    try:
        return _validate(text, filename, sandbox_available, max_bytes, max_depth, base_dir)
    except Exception as exc:  # noqa: BLE001 - the loader must never crash on input
        message = f"cannot validate this config: {type(exc).__name__}: {exc}"[:500]
        return ValidationReport(None, [Issue(filename, 1, 1, (), message)])


def _validate(
    text: str, filename: str, sandbox_available: bool | None, max_bytes: int, max_depth: int,
    base_dir: FilePath | None,
) -> ValidationReport:
    if not isinstance(text, str):
        return ValidationReport(None, [Issue(filename, 1, 1, (), "config must be text")])
    doc = read_untrusted(text, max_bytes=max_bytes, max_depth=max_depth)
    locator = Locator(doc, text, filename)
    errors = [Issue(filename, p.line, p.column, p.path, p.message, p.fix) for p in doc.problems]
    if errors:
        return ValidationReport(None, errors)
    if not isinstance(doc.data, dict):
        shown = "empty" if doc.data is None else f"a {type(doc.data).__name__}"
        return ValidationReport(
            None, [locator.issue((), f"config is {shown}, not a mapping", _TOP_LEVEL_HINT)]
        )
    try:
        data, upgraded = migrate_with_notes(doc.data)
    except MigrationProblem as exc:
        return ValidationReport(None, [locator.issue(("version",), str(exc))])
    errors = inline_files(data, base_dir, locator) + security_issues(data, locator)
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        flagged = {issue.path for issue in errors}  # a forbidden key is not also an "unknown key"
        structural = [i for i in pydantic_issues(exc, locator) if i.path not in flagged]
        errors += structural
        recovered = recover(data, errors)
        if recovered is not None:
            found = semantic_issues(recovered.workflow, locator, sandbox_available=sandbox_available)
            errors += [i for i in found if recovered.keeps(i)]
        return ValidationReport(None, _sorted(errors), upgraded=upgraded)
    found = semantic_issues(workflow, locator, sandbox_available=sandbox_available)
    errors += [i for i in found if i.severity == "error"]
    warnings = [i for i in found if i.severity == "warning"]
    return ValidationReport(None if errors else workflow, _sorted(errors), _sorted(warnings), upgraded)


def _sorted(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.line, i.column))


def load_workflow(
    text: str, filename: str = "<config>", *, sandbox_available: bool | None = None,
    base_dir: FilePath | None = None,
) -> Workflow:
    """The checked Workflow; raises ConfigError carrying every error (warnings are dropped)."""
    report = validate_text(text, filename, sandbox_available=sandbox_available, base_dir=base_dir)
    if report.workflow is None:
        raise ConfigError(report.errors)
    return report.workflow


def read_config_file(path: str | FilePath, max_bytes: int = MAX_BYTES) -> str:
    """The text of a config file, refusing huge files before reading them whole."""
    file = FilePath(path)
    try:
        if file.stat().st_size > max_bytes:
            raise ConfigError([Issue(str(path), 1, 1, (), f"config is larger than {max_bytes // 1024} KiB")])
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Issue(str(path), 1, 1, (), f"cannot read file: {exc}")]) from None


def load_workflow_file(path: str | FilePath, *, sandbox_available: bool | None = None) -> Workflow:
    """`load_workflow` on a file (prompt files read next to it); the file name appears in every issue."""
    return load_workflow(read_config_file(path), str(path), sandbox_available=sandbox_available,
                         base_dir=FilePath(path).parent)
