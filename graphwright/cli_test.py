"""`graphwright test FILE`: run the workflow's `checks:` and say which cases pass.

Every attempt is a real run through the engine (recorded in run history like `graphwright run`),
several at once (`--concurrency`). Prints a table; `--junit PATH` writes JUnit XML for CI.
Exit status: 0 every case passed, 1 a case failed, 2 bad config or arguments (or no checks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    test = subparsers.add_parser("test", help="run the checks declared in a workflow; exit 1 if one fails")
    test.add_argument("file", metavar="FILE")
    test.add_argument("--model", help="run every step on this model instead (judges keep theirs)")
    test.add_argument("--junit", type=Path, metavar="PATH", help="write the results as JUnit XML")
    test.add_argument("--case", action="append", default=None, metavar="NAME", help="run only this case (repeatable)")
    test.add_argument("--concurrency", type=int, default=4, metavar="N", help="runs at once (default 4)")
    test.add_argument("--data-dir", type=Path, default=None, help="where checkpoints and history live "
                      "(default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    test.add_argument("--no-history", action="store_true", help="do not record the runs and results in history")
    test.set_defaults(handler=cmd_test)


def cmd_test(args: argparse.Namespace) -> int:
    from schemas import ConfigError, load_workflow_file

    try:
        workflow = load_workflow_file(args.file)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    if not workflow.checks:
        print(f"{args.file}: no `checks:` to run; add named cases (see docs/config-reference.md)", file=sys.stderr)
        return EXIT_USAGE
    unknown = sorted(set(args.case or ()) - {c.name for c in workflow.checks})
    if unknown or args.concurrency < 1:
        problem = f"no check named {', '.join(map(repr, unknown))}" if unknown else "--concurrency must be >= 1"
        print(f"graphwright: {problem}", file=sys.stderr)
        return EXIT_USAGE
    history = None if args.no_history else _open_history(args.data_dir)
    try:
        report = asyncio.run(_run(args, workflow, history))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if history is not None:
            history.close()
    from orchestrator.checks.report import junit_xml, text_table

    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None  # CI logs get whole reasons
    print(text_table(report, width))
    if args.junit is not None:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    return EXIT_OK if report.passed else EXIT_FAILED


def _open_history(data_dir: Path | None) -> Any:
    """The run-history store (check results go to DuckDB), or None (with a note) when another
    process (the app) holds it."""
    from history.backend import open_history
    from history.errors import HistoryLocked
    from orchestrator.deployment import Deployment

    try:
        return open_history(data_dir, Deployment.from_env())
    except HistoryLocked as exc:
        print(f"note: these runs are not recorded in run history ({exc})", file=sys.stderr)
        return None


async def _run(args: argparse.Namespace, workflow: Any, history: Any) -> Any:
    from orchestrator.checks.runner import run_checks
    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine

    owner = os.environ.get("USER", "")
    policy = Policy(sandbox_image=os.environ.get("GRAPHWRIGHT_SANDBOX_IMAGE") or None, key_source="environment")
    sinks = [] if history is None else [history.sink]
    engine = Engine(data_dir=args.data_dir, credentials=Credentials.from_env(), policy=policy, sinks=sinks)

    def progress(attempt: Any) -> None:
        mark = "✓" if attempt.passed else "✗"
        print(f"{mark} {attempt.case} #{attempt.attempt} ({attempt.latency_s:.2f}s)", file=sys.stderr, flush=True)

    report = await run_checks(engine, workflow, owner=owner, model=args.model, concurrency=args.concurrency,
                              names=args.case, original=Path(args.file).read_text(encoding="utf-8"),
                              on_attempt=progress)
    if history is not None:
        from history.checks import record_report

        history.flush()
        record_report(history, report, owner)
        history.log_checks(report, owner)
    return report
