"""Another app replica, as a process: `python app_child.py approve|reject|follow RUN_ID [FEEDBACK]`.

It builds what `AppServices` builds in cluster mode (an engine on the Postgres run records and the
cluster executor, both from the environment), sends the decision (or just follows the run) and
prints the events it receives as JSON lines.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def main(action: str, run_id: str, feedback: str) -> int:
    from cluster.executor import ClusterRuntime
    from orchestrator.credentials import Credentials
    from orchestrator.runner import ApprovalDecision, Engine

    executor = ClusterRuntime.from_env().executor(Engine(credentials=Credentials.from_env()))
    approval = None if action == "follow" else ApprovalDecision(action == "approve", feedback)
    async for event in executor.resume(run_id, approval=approval, owner=""):
        print(event.model_dump_json(), flush=True)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    raise SystemExit(asyncio.run(main(args[0], args[1], args[2] if len(args) > 2 else "")))
