"""A warm parent of `graphwright worker` processes: it imports once, then forks a worker per request.

Starting a worker costs seconds of imports (LiteLLM, LangGraph, temporalio: ~7 s of CPU), minutes on
a loaded machine, and the cluster tests start ~30 of them; one zygote per session forks them all. It
imports modules only (no threads, no event loop, no Temporal runtime: those start in each child),
with the tests' network guard in place; nothing it imports reads the environment at import time, so
each child runs with the environment its test asked for. Protocol: one JSON line
`{"log": path, "args": [...], "env": {...}}` on stdin -> one line with the child's pid on stdout.
Children are reaped at once (SIGCHLD ignored); a child that returns writes its exit code to
`<log>.exit` (one killed by a signal writes none).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    import faulthandler

    from tests.conftest import guard_network

    guard_network(setattr)
    for name in ("graphwright.cli", "cluster.worker", "cluster.activity", "cluster.event_bus", "orchestrator.runner",
                 "orchestrator.llm", "orchestrator.compiler", "history.pg_store", "temporalio.worker", "litellm"):
        __import__(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            faulthandler.register(signal.SIGUSR1)
            os.environ.clear()
            os.environ.update(request["env"])
            from graphwright.cli import main as cli

            code = 1
            try:
                code = cli(["worker", *request["args"]]) or 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                Path(request["log"] + ".exit").write_text(str(code))
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
