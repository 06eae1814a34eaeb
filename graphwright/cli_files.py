"""Files on the command line: `--input name=@path` for file inputs, and `graphwright artifacts RUN_ID`.

A file input's contents (not its path) enter the run, read here with the input's size cap checked
before reading, so a huge file is refused by name without being loaded. Artifacts live in the run's
folder under the data dir; `artifacts` lists them with their paths, or copies them out with `--to`.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    artifacts = subparsers.add_parser("artifacts", help="list (or copy out) the files a run's steps wrote")
    artifacts.add_argument("run_id", metavar="RUN_ID")
    artifacts.add_argument("--to", type=Path, default=None, metavar="DIR", help="copy the files into DIR")
    artifacts.add_argument("--data-dir", type=Path, default=None, help="where runs live "
                           "(default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    artifacts.set_defaults(handler=cmd_artifacts)


def read_file_inputs(workflow: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Replace `@path` values of `file` inputs by the file's name and text; ValueError names the input."""
    from orchestrator.state import file_upload

    out = dict(inputs)
    for name, value in inputs.items():
        spec = workflow.inputs.get(name)
        if spec is None or spec.type != "file" or not isinstance(value, str) or not value.startswith("@"):
            continue
        path = Path(value[1:]).expanduser()
        try:
            size = path.stat().st_size
            if size > spec.max_bytes:
                raise ValueError(f"input `{name}`: {path} is {size:,} bytes, over this input's limit of "
                                 f"{spec.max_bytes:,} (`max_bytes`)")
            out[name] = file_upload(path.name, path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"input `{name}`: {path} is not UTF-8 text") from None
        except OSError as exc:
            raise ValueError(f"input `{name}`: cannot read {path}: {exc.strerror or exc}") from None
    return out


def cmd_artifacts(args: argparse.Namespace) -> int:
    from orchestrator.artifacts import list_artifacts
    from orchestrator.paths import data_dir

    root = args.data_dir if args.data_dir is not None else data_dir()
    try:
        files = list_artifacts(root, args.run_id)
    except ValueError as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return 2
    if not files:
        print(f"run {args.run_id} has no artifacts in {root} (check the run id and --data-dir)", file=sys.stderr)
        return 1
    for file in files:
        target = file
        if args.to is not None:
            args.to.mkdir(parents=True, exist_ok=True)
            target = Path(shutil.copy2(file, args.to / file.name))
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        print(f"{file.name}\t{file.stat().st_size} bytes\tsha256 {digest}\t{target}")
    return 0
