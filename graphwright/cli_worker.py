"""`graphwright worker`: a process that executes runs from the Temporal task queue (cluster mode).

Configured from the environment like the app: `GRAPHWRIGHT_TEMPORAL_ADDRESS`,
`GRAPHWRIGHT_POSTGRES_DSN`, the provider keys, and `GRAPHWRIGHT_CLUSTER_SECRET` (the app replicas' value)
to run with the keys a visitor brought. Stop it with SIGTERM: it takes no new work, lets
running segments finish for `--grace` seconds and hands the rest back to other workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser("worker", help="execute runs from the Temporal task queue (cluster mode)")
    worker.add_argument("--max-runs", type=int, default=8, help="runs this worker drives at once (default 8)")
    worker.add_argument("--grace", type=float, default=10.0,
                        help="seconds a running segment may take to finish on SIGTERM before it is handed back")
    worker.add_argument("--data-dir", type=Path, default=None,
                        help="artifacts and sandbox files (default: $GRAPHWRIGHT_DATA_DIR, else ./data)")
    worker.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="how much the worker logs (default INFO; keys never reach the log at any level)")
    worker.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # no `.env` loading at LiteLLM's import
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from cluster.temporal_client import ClusterConfigError, TemporalSettings, postgres_dsn
        from cluster.worker import WorkerOptions, serve
    except ImportError as exc:
        print(f"graphwright: the cluster extra is not installed ({exc}); pip install -r requirements-cluster.txt",
              file=sys.stderr)
        return 2
    try:
        settings, dsn = TemporalSettings.from_env(), postgres_dsn()
        options = WorkerOptions(data_dir=args.data_dir, max_concurrent_runs=max(1, args.max_runs),
                                grace_s=max(0.0, args.grace))
        asyncio.run(serve(settings, dsn, options))
    except ClusterConfigError as exc:
        print(f"graphwright: {exc}", file=sys.stderr)
        return 2
    return 0
