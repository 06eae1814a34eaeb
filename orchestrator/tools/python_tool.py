"""The `python` tool: the agent's code runs in the Docker sandbox, in a worker thread, never here."""

from __future__ import annotations

import asyncio

from orchestrator.policy import Policy
from schemas.models import PythonTool


async def run_code(tool: PythonTool, code: str, policy: Policy) -> tuple[bool, str]:
    """(ok, text for the agent); sandbox failures become an explanatory result, not a crash."""
    from orchestrator.sandbox import SandboxError, run_python

    try:
        result = await asyncio.to_thread(run_python, code, tool, default_image=policy.sandbox_image)
    except SandboxError as exc:
        return False, f"error: the code could not be run: {exc}"
    return result.ok, result.to_tool_text()
