"""The `graphwright` command: `validate FILE...`, `schema`, and `run`/`resume` when installed.

Output is compiler-style (`file:line:col: message`) so editors and CI can jump to the spot;
`--format json` gives the same issues as data. Exit status: 0 when every file is valid, 1 if not.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from graphwright.startup import MODEL_COMMANDS, collection_paused, preload_litellm, skip_final_collection

if TYPE_CHECKING:
    from schemas.issues import ValidationReport


def _validate_one(path: str, sandbox_available: bool | None) -> ValidationReport:
    from schemas import validate_text
    from schemas.errors import ConfigError
    from schemas.issues import ValidationReport
    from schemas.loader import read_config_file

    try:
        text = read_config_file(path)
    except ConfigError as exc:
        return ValidationReport(None, exc.issues)
    return validate_text(text, path, sandbox_available=sandbox_available, base_dir=Path(path).parent)


def cmd_validate(args: argparse.Namespace) -> int:
    results = {path: _validate_one(path, args.sandbox) for path in args.files}
    failed = any(report.errors for report in results.values())
    if args.format == "json":
        payload = [
            {
                "file": path,
                "ok": not report.errors,
                "errors": [i.to_dict() for i in report.errors],
                "warnings": [i.to_dict() for i in report.warnings],
                "upgraded": report.upgraded,
            }
            for path, report in results.items()
        ]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 1 if failed else 0
    for path, report in results.items():
        errors, warnings = report.errors, report.warnings
        for note in report.upgraded:
            print(f"{path}: {note}", file=sys.stderr)
        for issue in report.issues:
            print(issue, file=sys.stdout)
        if not errors:
            suffix = f" ({len(warnings)} warning{'s' * (len(warnings) != 1)})" if warnings else ""
            print(f"{path}: ok{suffix}", file=sys.stderr)
    return 1 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from schemas import workflow_schema

    text = json.dumps(workflow_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.write:
        from schemas.generate import write_all

        for path in write_all():
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        return 0
    sys.stdout.write(text)
    return 0


def cmd_tools(_args: argparse.Namespace) -> int:
    """The installed function tools a config may name (`type: function`), and any that failed to load."""
    from schemas.functions import MODULES_ENV, installed_functions

    installed = installed_functions()
    for fn in installed.functions.values():
        params = ", ".join(installed.functions[fn.name].parameters().get("properties", {}))
        print(f"{fn.name}({params})  [{fn.source}]\n    {fn.description}")
    for problem in installed.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"(add your own through the `graphwright.tools` entry point group or {MODULES_ENV})", file=sys.stderr)
    return 1 if installed.problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphwright", description="Agent workflows as validated YAML.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check config files; prints file:line:col: message")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    sandbox = validate.add_mutually_exclusive_group()
    sandbox.add_argument(
        "--sandbox", dest="sandbox", action="store_true", default=None, help=argparse.SUPPRESS
    )
    sandbox.add_argument(
        "--no-sandbox", dest="sandbox", action="store_false", help="warn about python tools (no Docker here)"
    )
    validate.set_defaults(handler=cmd_validate)
    schema = sub.add_parser("schema", help="print the JSON Schema of the config format")
    schema.add_argument("--write", action="store_true", help="regenerate the checked-in schema and docs")
    schema.add_argument("-o", "--output", help="write the schema to this file instead of stdout")
    schema.set_defaults(handler=cmd_schema)
    tools = sub.add_parser("tools", help="list the Python function tools installed on this server")
    tools.set_defaults(handler=cmd_tools)
    importlib.import_module("graphwright.cli_diff").register(sub)
    if importlib.util.find_spec("graphwright.cli_run") is not None:
        importlib.import_module("graphwright.cli_run").register(sub)
        importlib.import_module("graphwright.cli_test").register(sub)
    importlib.import_module("graphwright.replay").register(sub)
    importlib.import_module("graphwright.reprice").register(sub)
    importlib.import_module("graphwright.cli_migrate").register(sub)
    importlib.import_module("graphwright.cli_worker").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, then run the command's handler (see `graphwright.startup` for why it starts this way)."""
    with collection_paused():
        parser = build_parser()
        args = parser.parse_args(argv)
        handler = getattr(args, "handler", None) or getattr(args, "func", None)
        if handler is None:
            parser.error(f"no handler for `{args.command}`")
        if args.command in MODEL_COMMANDS:
            preload_litellm()
        code = int(handler(args) or 0)
    if argv is None and args.command in MODEL_COMMANDS:  # the process is the command: it ends now
        skip_final_collection()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
