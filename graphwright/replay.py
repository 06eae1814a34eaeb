"""`graphwright replay RUN_ID --step STEP=MODEL ...`: re-run chosen steps of a past run on another model.

Every other step's output is served from the recorded run (no call, no cost), so the table printed
at the end isolates the change: each re-run step's output, tokens, cost and latency before and
after, and a diff of the outputs. Exit status: 0 replayed, 1 the replay run failed, 2 refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def register(subparsers: Any) -> None:
    replay = subparsers.add_parser(
        "replay", help="re-run chosen steps of a past run on another model; the rest is served from the record")
    replay.add_argument("run_id", metavar="RUN_ID")
    replay.add_argument("--step", "-s", action="append", default=[], metavar="STEP[@item=N|@round=N][=MODEL]",
                        help="a step to run again (repeatable), optionally one map item (from 0) or loop round "
                        "(from 1), on MODEL (default: its own); * means every step that called a model")
    replay.add_argument("--allow-side-effects", action="store_true",
                        help="let re-run steps call tools that act outside the run (HTTP POST, installed functions)")
    replay.add_argument("--no-diff", action="store_true", help="print the table only, not the output diffs")
    replay.add_argument("--data-dir", type=Path, default=None,
                        help="where checkpoints and history live (default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    replay.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from history.errors import HistoryLocked
    from history.replay_compare import compare
    from history.replay_plan import Pick, ReplayRefused, prepare_replay
    from history.store import HistoryStore
    from orchestrator.credentials import Credentials
    from orchestrator.events import RunOrigin
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine

    owner = os.environ.get("USER", "")
    try:
        store = HistoryStore.open(args.data_dir)
    except HistoryLocked as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        policy = Policy(sandbox_image=os.environ.get("GRAPHWRIGHT_SANDBOX_IMAGE") or None, key_source="environment")
        engine = Engine(data_dir=args.data_dir, credentials=Credentials.from_env(), policy=policy,
                        sinks=[store.sink])
        try:
            picks = [Pick.parse(text) for text in args.step]
            prepared = prepare_replay(store.read_cursor(), engine.store, args.run_id, owner, picks,
                                      allow_side_effects=args.allow_side_effects)
        except ReplayRefused as exc:
            print(f"graphwright: cannot replay: {exc}", file=sys.stderr)
            return EXIT_REFUSED

        async def drive() -> Any:
            last = None
            async for event in engine.run(prepared.workflow, prepared.inputs, owner=owner, replay=prepared.plan,
                                          origin=RunOrigin(source="replay")):
                last = event
            return last

        last = asyncio.run(drive())
        store.flush(30)
        print_comparison(compare(store.read_cursor(), last.run_id, owner), sys.stdout, diffs=not args.no_diff)
        if last.type != "run_finished":
            print(f"the replay run ended {last.type.removeprefix('run_')}: {getattr(last, 'message', '')}",
                  file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    finally:
        store.close()


def print_comparison(comparison: Any, out: TextIO, *, diffs: bool = True) -> None:
    """The side-by-side table (and, below it, each changed output's diff)."""
    out.write(f"replay {comparison.run_id} of run {comparison.source_run_id}\n")
    header = ("step", "where", "model before → after", "tokens in/out before → after", "cost before → after",
              "latency s before → after")
    rows = [header]
    for s in comparison.steps:
        b = s.before
        rows.append((
            s.step_id, s.where or "-",
            f"{b.model if b else '-'} → {s.after.model or '-'}",
            f"{f'{b.tokens_in}/{b.tokens_out}' if b else '-'} → {s.after.tokens_in}/{s.after.tokens_out}",
            f"{b.cost_text if b else '-'} → {s.after.cost_text}",
            f"{f'{b.latency_s:.2f}' if b else '-'} → {s.after.latency_s:.2f}"
            + ("" if s.after.status == "ok" else f" ({s.after.status}: {s.after.error})"),
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n")
    out.write(f"run cost: source ${comparison.cost_before:.6f}, replay ${comparison.cost_after:.6f} "
              "(served steps cost nothing)\n")
    if diffs:
        for s in comparison.steps:
            text = s.diff
            out.write(f"\n--- {s.step_id}{f' ({s.where})' if s.where else ''}: "
                      f"{'same output' if not text else 'output changed'}\n")
            if text:
                out.write(text + "\n")
