"""Named artifacts: files a step writes from its output into the run's own folder.

The folder is `<data dir>/runs/<run id>/artifacts/`; a name is a single validated file name (the
config's `ArtifactName` allows no folders and no `..`, and the path is checked again here), so a
config can never write anywhere else. A later write of the same name replaces the file (a step in
a loop keeps its last round). Each write is an `ArtifactWritten` event: the trace shows it and
history keeps a row per artifact (name, size, hash) while the file stays in the run's folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from orchestrator.errors import StepFailed
from schemas.files import file_format
from schemas.models import Artifact
from schemas.templates import to_text

MAX_ARTIFACT_BYTES = 5_000_000
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}(\.[A-Za-z0-9]{1,8})?$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def artifact_dir(data_dir: Path, run_id: str) -> Path:
    """The folder holding a run's artifacts (not created here)."""
    if not _RUN_ID_RE.match(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return data_dir / "runs" / run_id / "artifacts"


def artifact_path(data_dir: Path, run_id: str, name: str) -> Path:
    """The file of one artifact; refuses any name that is not a plain file name."""
    if not _NAME_RE.match(name):
        raise ValueError(f"not an artifact name: {name!r}")
    return artifact_dir(data_dir, run_id) / name


def list_artifacts(data_dir: Path, run_id: str) -> list[Path]:
    """The artifact files of a run, by name."""
    folder = artifact_dir(data_dir, run_id)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def render_artifact(spec: Artifact, output: Any, step_id: str) -> tuple[str, bytes]:
    """The format and bytes of `output` written as `spec` says; a step failure when it does not fit."""
    fmt = file_format(spec.name, spec.format)
    if fmt == "json":
        text = json.dumps(output, indent=2, ensure_ascii=False, default=str) + "\n"
    elif fmt == "csv":
        text = _csv(output, spec.name, step_id)
    else:
        text = to_text(output)
    data = text.encode("utf-8")
    if len(data) > MAX_ARTIFACT_BYTES:
        raise StepFailed(f"step `{step_id}`: artifact `{spec.name}` would be {len(data):,} bytes, over the "
                         f"{MAX_ARTIFACT_BYTES:,}-byte limit", step_id=step_id)
    return fmt, data


def write_artifact(data_dir: Path, run_id: str, spec: Artifact, output: Any, step_id: str
                   ) -> tuple[str, int, str]:
    """Write atomically (a reader never sees half a file); returns (format, bytes, sha256)."""
    fmt, data = render_artifact(spec, output, step_id)
    path = artifact_path(data_dir, run_id, spec.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return fmt, len(data), hashlib.sha256(data).hexdigest()


def _csv(output: Any, name: str, step_id: str) -> str:
    rows = output
    if isinstance(output, dict):  # an agent's structured output: its one list of objects
        lists = [v for v in output.values() if isinstance(v, list)]
        rows = lists[0] if len(lists) == 1 else output
    if isinstance(rows, dict):
        rows = [rows]
    if not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise StepFailed(f"step `{step_id}`: artifact `{name}` is CSV, which needs a list of objects (one "
                         f"row each), but the step's output is {type(output).__name__}; write it as "
                         "`.md`/`.txt`, or give the step an output field that is a list of objects",
                         step_id=step_id)
    header: list[str] = []
    for row in rows:
        header += [str(k) for k in row if str(k) not in header]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({str(k): v if isinstance(v, str | int | float | bool) or v is None
                         else json.dumps(v, default=str) for k, v in row.items()})
    return buffer.getvalue()
