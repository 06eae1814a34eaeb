"""`graphwright diff A.yaml B.yaml`: what changed between two configs, in plain words, and what it
does to the estimated cost per run.

Exit status as `diff`'s: 0 when both run the same workflow (cosmetic edits aside), 1 when they
differ, 2 when a file cannot be read or does not validate. No gradio, pandas or LiteLLM imports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def register(subparsers: Any) -> None:
    diff = subparsers.add_parser("diff", help="what changed between two configs, in plain words, with the cost change")
    diff.add_argument("before", metavar="A.yaml")
    diff.add_argument("after", metavar="B.yaml")
    diff.add_argument("--model", default=None, metavar="MODEL",
                      help="the model that prices agents without one of their own (default: the offline model, $0)")
    diff.add_argument("--format", choices=["text", "json"], default="text")
    diff.set_defaults(handler=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from schemas import ConfigError, load_workflow
    from schemas.loader import read_config_file

    workflows = []
    for path in (args.before, args.after):
        try:
            workflows.append(load_workflow(read_config_file(path), path, base_dir=Path(path).parent))
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            return EXIT_TROUBLE
    from chatbot.plain_diff import plain_diff
    from orchestrator.offline_model import MODEL as OFFLINE_MODEL
    from schemas.versions import config_hash, short_hash

    result = plain_diff(*workflows, default_model=args.model or OFFLINE_MODEL)
    hashes = [short_hash(config_hash(w)) for w in workflows]
    if args.format == "json":
        cost = result.cost
        print(json.dumps({
            "before": {"file": args.before, "version": hashes[0]}, "after": {"file": args.after, "version": hashes[1]},
            "changes": [{"area": c.area, "subject": c.subject, "what": c.what, "text": c.text} for c in result.diff.changes],
            "powers_raised": result.diff.powers,
            "cost_per_run_usd": {"expected": [cost.before.cost_usd, cost.after.cost_usd],
                                 "worst": [cost.before.worst_cost_usd, cost.after.worst_cost_usd]},
        }, indent=2, ensure_ascii=False))  # fmt: skip
    else:
        print(f"{args.before} ({hashes[0]}) → {args.after} ({hashes[1]})")
        print(result.to_text())
    return EXIT_DIFFERENT if result.diff else EXIT_SAME
