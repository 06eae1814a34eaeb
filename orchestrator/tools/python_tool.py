"""The `python` tool: the agent's code runs in the Docker sandbox, in a worker thread, never here.

Calls run in the sandbox pool (its size caps containers per process) under one of the visitor's
sandbox slots (see `orchestrator.workers`). When the run is cancelled (Stop, Ctrl-C), the call's
container is removed at once instead of living on until the tool's own timeout.
"""

from __future__ import annotations

import asyncio

from orchestrator.policy import Policy
from orchestrator.workers import CURRENT_OWNER, CURRENT_RUN_ID, CURRENT_WORKERS, Workers
from schemas.models import PythonTool


async def run_code(tool: PythonTool, code: str, policy: Policy) -> tuple[bool, str]:
    """(ok, text for the agent); sandbox failures become an explanatory result, not a crash."""
    from orchestrator.sandbox import SandboxCall, SandboxError, run_python

    workers = CURRENT_WORKERS.get() or Workers()  # outside a run (a direct call): pools of its own
    call = SandboxCall()
    try:
        async with workers.visitor_sandbox_slot(CURRENT_OWNER.get()):
            result = await workers.run_in("sandbox", run_python, code, tool, default_image=policy.sandbox_image,
                                          call=call, run_id=CURRENT_RUN_ID.get())
    except asyncio.CancelledError:
        workers.pool("sandbox_control").submit(call.cancel)  # not awaited: the cancellation goes on at once
        raise
    except SandboxError as exc:
        return False, f"error: the code could not be run: {exc}"
    return result.ok, result.to_tool_text()
