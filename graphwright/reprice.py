"""`graphwright reprice --model MODEL`: what your recorded calls would have cost on another model.

Tokens as recorded, prices from LiteLLM's local map; actual vs alternative per day and per step, and
the recorded models without a price named (their actual cost is unknown, never shown as 0).
Exit status: 0 printed, 2 refused (an unpriced model, a bad date, the data dir in use).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_REFUSED = 0, 2


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser("reprice", help="what your recorded model calls would have cost on another model")
    cmd.add_argument("--model", "-m", required=True, help="the LiteLLM model to price with, e.g. openai/gpt-4o-mini")
    cmd.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="first day (default: all)")
    cmd.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="last day, included")
    cmd.add_argument("--workflow", "-w", help="only this workflow's calls")
    cmd.add_argument("--version", help="only runs of this config version (its hash or first characters)")
    cmd.add_argument("--data-dir", type=Path, default=None,
                     help="where history lives (default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    cmd.set_defaults(handler=cmd_reprice)


def cmd_reprice(args: argparse.Namespace) -> int:
    from history.errors import HistoryLocked
    from history.queries import Filters
    from history.reprice import Unpriced, reprice
    from history.store import HistoryStore

    owner = os.environ.get("USER", "")
    try:
        store = HistoryStore.open(args.data_dir, mlflow=False)
    except HistoryLocked as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        version = _version(store.read_cursor(), owner, args.version) if args.version else None
        filters = Filters(owner=owner, date_from=args.since, date_to=args.until, workflow=args.workflow,
                          version=version)
        result = reprice(store.read_cursor(), filters, args.model)
    except (Unpriced, LookupError) as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
    print_repricing(result, sys.stdout)
    return EXIT_OK


def _version(cur: Any, owner: str, prefix: str) -> str:
    """The full hash of the one version of `owner`'s runs that starts with `prefix`."""
    rows = cur.execute("SELECT DISTINCT config_hash FROM runs WHERE owner = ? AND starts_with(config_hash, ?)",
                       [owner, prefix.strip().lower()]).fetchall()
    if len(rows) != 1:
        found = "no config version" if not rows else f"{len(rows)} config versions"
        raise LookupError(f"{found} of your runs start with `{prefix}`: give more of the hash "
                          "(`graphwright runs` shows each run's version)")
    return str(rows[0][0])


def _usd(value: Any) -> str:
    return "unknown" if value is None or value != value else f"${value:.6f}"  # NaN: no priced call


def print_repricing(result: Any, out: TextIO) -> None:
    out.write(f"actual vs {result.model} (tokens as recorded; LiteLLM's local prices)\n")
    _table(out, ["day", "calls", "tokens in", "tokens out", "actual", result.model],
           [[str(r.day), str(r.calls), str(r.tokens_in), str(r.tokens_out), _usd(r.actual_usd),
             _usd(r.alternative_usd)] for r in result.by_day.itertuples()])
    out.write("\n")
    _table(out, ["workflow", "step", "recorded models", "calls", "actual", result.model],
           [[r.workflow, r.step_id or "-", r.models, str(r.calls), _usd(r.actual_usd), _usd(r.alternative_usd)]
            for r in result.by_step.itertuples()])
    out.write(f"\ntotal: actual {_usd(result.actual_usd)}, on {result.model} {_usd(result.alternative_usd)}\n")
    for model, calls in result.unpriced_models.items():
        out.write(f"unpriced: {model} ({calls} call{'s' * (calls != 1)}: its actual cost is unknown, not 0)\n")


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    if not rows:
        out.write("(no recorded calls match)\n")
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
