"""`graphwright run FILE` and `graphwright resume RUN_ID`: run workflows from the terminal.

The live view is an event sink, so it also prints the events nobody can iterate any more (the
`run_cancelled` of a Ctrl-C). Approvals are asked on the terminal; without an answer (no TTY, end
of input) the run stays paused and `graphwright resume RUN_ID` continues it later.

Exit status: 0 finished, 1 failed or rejected, 2 bad config or arguments, 3 waiting for an
approval, 130 interrupted by Ctrl-C (resumable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator.text import shorten

if TYPE_CHECKING:  # imported when a run starts: `validate` and `schema` register this module too
    from orchestrator.trace_rows import Row

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run a workflow, streaming its events")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE",
                     help="a run input (repeatable); lists as a,b,c or JSON; a file input as KEY=@PATH")
    run.add_argument("--model", help="use this model for every step, instead of every model the workflow names "
                     "(the agents' own included)")
    _common(run)
    run.set_defaults(handler=cmd_run)
    resume = subparsers.add_parser("resume", help="continue an interrupted run from its checkpoint")
    resume.add_argument("run_id", metavar="RUN_ID")
    decision = resume.add_mutually_exclusive_group()
    decision.add_argument("--approve", action="store_true", help="approve the pending approval")
    decision.add_argument("--reject", action="store_true", help="reject the pending approval")
    decision.add_argument("--answer", metavar="TEXT", help="answer the pending question of an `ask` step")
    resume.add_argument("--feedback", default="", help="feedback to go with --approve/--reject")
    _common(resume)
    resume.set_defaults(handler=cmd_resume)
    from graphwright import cli_files, cli_runs

    cli_runs.register(subparsers)
    cli_files.register(subparsers)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--data-dir", type=Path, default=None, help="where checkpoints and history live "
                        "(default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    parser.add_argument("--no-history", action="store_true", help="do not record the run in run history")


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--input expects KEY=VALUE, got {pair!r}")
        inputs[key.strip()] = value
    return inputs


def cmd_run(args: argparse.Namespace) -> int:
    from graphwright.cli_files import read_file_inputs
    from schemas import ConfigError, load_workflow_file

    try:
        workflow = load_workflow_file(args.file)
        inputs = read_file_inputs(workflow, parse_inputs(args.input))
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from orchestrator.sandbox import missing_images

    for note in missing_images(workflow, os.environ.get("GRAPHWRIGHT_SANDBOX_IMAGE") or None):
        print(f"warning: {note} Until then, steps that run code will fail.", file=sys.stderr)
    from chatbot.run_origin import run_origin
    from orchestrator.providers import OFFLINE_MODEL

    origin = run_origin(workflow, _text_of(args.file), source="cli", default_model=OFFLINE_MODEL, override=args.model)
    return _drive(args, lambda engine: engine.run(workflow, inputs, owner=_owner(), model_override=args.model,
                                                  origin=origin))


def _text_of(path: str) -> str | None:
    """The file as written (history keeps it beside the canonical text); None when unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.runner import ApprovalDecision

    approval = None
    if args.answer is not None:
        approval = ApprovalDecision(approved=True, feedback=args.answer)
    elif args.approve or args.reject:
        approval = ApprovalDecision(approved=bool(args.approve), feedback=args.feedback)
    return _drive(args, lambda engine: engine.resume(args.run_id, approval=approval, owner=_owner()))


def _owner() -> str:
    return os.environ.get("USER", "")


def _drive(args: argparse.Namespace, start: Any) -> int:
    from graphwright.startup import engine_loaded
    from orchestrator.credentials import Credentials
    from orchestrator.errors import InvalidAnswer, RunNotResumable
    from orchestrator.execution import cluster_mode
    from orchestrator.policy import Policy
    from orchestrator.runner import ApprovalDecision, Engine
    from orchestrator.state import InputsError

    view = LiveView(sys.stdout, as_json=args.json)
    policy = Policy(sandbox_image=os.environ.get("GRAPHWRIGHT_SANDBOX_IMAGE") or None, key_source="environment")
    on_workers = cluster_mode()  # the workers record the run in the shared history (unless --no-history)
    history = None if args.no_history or on_workers else _open_spool(args.data_dir)
    sinks = [view] if history is None else [view, history.sink]
    engine = Engine(data_dir=args.data_dir, credentials=Credentials.from_env(), policy=policy,
                    sinks=[] if on_workers else sinks)
    runner = _runner(engine, record_history=not args.no_history) if on_workers else engine
    view.data_dir = engine.data_dir
    engine_loaded()

    async def main() -> int:
        stream = start(runner)
        while True:
            async for event in stream:
                if on_workers:  # events come from the workers, not through this engine's sinks
                    view(event)
            last = view.last
            if last is None or last.type != "run_interrupted":
                return _exit_code(last)
            decision = _ask(view.pending)
            if decision is None:
                how = ("--answer TEXT`" if view.pending is not None and view.pending.kind == "input"
                       else "--approve` (or --reject)")
                print(f"run {last.run_id} is waiting for a person; continue it with "
                      f"`graphwright resume {last.run_id} {how}", file=sys.stderr)
                return EXIT_WAITING
            stream = runner.resume(last.run_id, approval=ApprovalDecision(*decision))

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        run_id = view.last.run_id if view.last else "?"
        print(f"\ninterrupted; continue with `graphwright resume {run_id}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RunNotResumable, InputsError, InvalidAnswer) as exc:  # e.g. an input holding a key: refused
        print(f"graphwright: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if history is not None:
            history.close()


def _runner(engine: Any, *, record_history: bool) -> Any:
    """Cluster mode (`GRAPHWRIGHT_TEMPORAL_ADDRESS` set): the run executes on a `graphwright worker`,
    as from the app; `engine` keeps the run records and the input checks. The workers record the run in
    the shared history, unless `--no-history` (then none of the segments this command starts)."""
    from cluster.executor import ClusterRuntime

    return ClusterRuntime.from_env().executor(engine, record_history=record_history)


def _open_spool(data_dir: Path | None) -> Any:
    """Where this process records its runs: a spool in the data dir's inbox, which whoever holds the
    DuckDB history ingests (`history.spool`): so a run is recorded while the app has the file open,
    and the CLI never loads DuckDB. None (with a note) when the data dir cannot be written."""
    from history.spool import Spool

    try:
        return Spool.create(data_dir)
    except OSError as exc:
        print(f"note: this run is not recorded in run history (cannot write its spool: {exc}); "
              "check the data directory (--data-dir or GRAPHWRIGHT_DATA_DIR)", file=sys.stderr)
        return None


def _exit_code(last: Any) -> int:
    if last is not None and last.type == "run_finished":
        return EXIT_OK
    if last is not None and last.type == "run_failed":
        print(f"run failed: {last.message}", file=sys.stderr)
    elif last is not None and last.type == "run_cancelled":
        print(f"run {last.reason}", file=sys.stderr)
    return EXIT_FAILED


def _prompt(question: str) -> str:
    """Ask on stderr (the terminal), never stdout: with `--json`, stdout carries only events."""
    sys.stderr.write(question)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


def _ask(pending: Any) -> tuple[bool, str] | None:
    """Ask on the terminal; None when nobody can answer (end of input)."""
    if pending is not None and pending.kind == "input":
        return _ask_question(pending)
    try:
        print(f"\nApproval needed for `{pending.step_id if pending else '?'}`.", file=sys.stderr)
        answer = _prompt("Approve? [y/N] ").lower()
        feedback = _prompt("Feedback (optional): ")
    except EOFError:
        return None
    return answer in ("y", "yes"), feedback


class LiveView:
    """Prints events as they happen: readable lines, or JSON lines with `--json`."""

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        from orchestrator.events import TERMINAL_TYPES
        from orchestrator.trace_rows import TraceRows

        self.out, self.as_json = out, as_json
        self.terminal_types = TERMINAL_TYPES
        self.data_dir: Path | None = None  # where artifacts are written, to print their paths
        self.last: Any = None
        self.pending: Any = None
        self.rows = TraceRows()  # the same row state machine as the Run tab
        self._token_step: str | None = None

    def __call__(self, event: Any) -> None:
        if event.type in ("run_finished", "run_failed", "run_cancelled", "run_interrupted"):
            self.last = event
        if event.type == "approval_requested":
            self.pending = event
        changed = self.rows.apply(event)
        if self.as_json:
            self.out.write(event.model_dump_json() + "\n")
        else:
            if event.type in self.terminal_types:  # what the run's end settled: nothing is left "running"
                for row in changed:
                    self._line(_row_line(row))
            self._readable(event)
        self.out.flush()

    def _line(self, text: str) -> None:
        if self._token_step is not None:
            self.out.write("\n")
            self._token_step = None
        self.out.write(text + "\n")

    def _readable(self, e: Any) -> None:
        match e.type:
            case "token":
                if self._token_step != e.step_id:
                    self._line(f"  [{e.step_id}] ")
                    self.out.write("    ")
                    self._token_step = e.step_id
                self.out.write(e.text.replace("\n", "\n    "))
            case "run_started":
                verb = "resuming" if e.resumed else "running"
                self._line(f"▶ {verb} {e.workflow} (run {e.run_id}, model {e.default_model})")
            case "step_started":
                self._line(_row_line(self._row_of(e)))
            case "step_finished":
                row = self._row_of(e)
                cost = f", ${e.cost_usd:.5f}" if e.cost_usd else ""
                label = " [synthetic]" if e.synthetic and "offline" not in (e.model or "") else ""
                model = f", {e.model}{label}" if e.model else ""
                extra = f" → {e.branch}" if e.branch else ""
                extra += f" after {e.iterations} iteration(s)" if e.iterations else ""
                self._line(f"{_row_line(row)}{extra} ({e.duration_s:.2f}s, {e.tokens_in + e.tokens_out} tokens"
                           f"{cost}{model})")
            case "llm_call" if e.error:
                self._line(f"  ↻ {e.model} attempt {e.attempt} failed: {e.error}")
            case "tool_call":
                self._line(f"  🔧 {e.tool} {json.dumps(e.arguments)[:200]}")
            case "tool_result":
                self._line(f"  {'↳' if e.ok else '↳ error:'} {shorten(e.result, 200)!r}")
            case "warning":
                self._line(f"⚠ {e.message}")
            case "artifact_written":
                where = self.data_dir / "runs" / e.run_id / "artifacts" / e.name if self.data_dir else e.name
                self._line(f"  📄 {e.name} ({e.bytes:,} bytes, {e.format}) → {where}")
            case "approval_requested":
                self._line(f"? {e.step_id}: {e.message}")
            case "approval_resolved":
                self._line(f"  {'approved' if e.approved else 'rejected'}" + (f": {e.feedback}" if e.feedback else ""))
            case "budget_exceeded":
                self._line(f"■ limit `{e.limit}` reached ({e.used:g} of {e.limit_value:g})")
            case "run_finished":
                output = e.output if isinstance(e.output, str) else json.dumps(e.output, indent=2)
                errors = self.rows.tool_errors
                state = f"finished with {errors} tool error{'s' * (errors != 1)}" if errors else "finished"
                self._line(f"■ {state} in {e.duration_s:.2f}s, {e.tokens_in + e.tokens_out} tokens, "
                           f"${e.cost_usd:.5f}\n\n{output}")
            case "run_failed":
                self._line(f"■ failed{' at ' + e.step_id if e.step_id else ''}: {e.message}")
            case "run_cancelled":
                self._line(f"■ {e.reason}")
            case "run_interrupted":
                self._line(f"■ paused ({e.reason})")

    def _row_of(self, e: Any) -> Any:
        for row in reversed(self.rows.rows):
            if row.same_execution(e.step_id, e.item_index):
                return row
        return None


_MARK = {"running": "●", "ok": "✓", "failed": "✗", "skipped": "»", "waiting": "‖", "rejected": "⊘",
         "stopped": "■", "interrupted": "‖"}


def _row_line(row: Row) -> str:
    """One trace row as a terminal line: indented under its parent, named by its item or round."""
    label = f" [{row.label}]" if row.label else ""
    who = f" {row.agent}" if row.agent else ""
    status = "" if row.status in ("running", "ok") else f" {row.status}"
    note = f" ({row.note})" if row.note else ""
    error = f": {shorten(row.error, 300)}" if row.error else ""
    tools = f", {row.tool_errors} tool error(s)" if row.tool_errors else ""
    return (f"{'  ' * row.depth}{_MARK.get(row.status, '•')} {row.step_id}{label} "
            f"({row.step_type}{who}){status}{note}{tools}{error}")


def _ask_question(pending: Any) -> tuple[bool, str] | None:
    """An `ask` step on the terminal (prompts on stderr): repeat until the answer fits its choices."""
    from schemas.steps.ask import matching_choice

    print(f"\nQuestion from `{pending.step_id}`: {pending.message}", file=sys.stderr)
    if pending.choices:
        print("Answer with one of: " + ", ".join(pending.choices), file=sys.stderr)
    while True:
        try:
            answer = _prompt("Answer: ")
        except EOFError:
            return None
        if matching_choice(answer, pending.choices) is not None:
            return True, answer
        print("That is not one of the choices." if pending.choices else "Please type an answer.", file=sys.stderr)
