"""The `function` tool: call a Python function the server's operator installed, in this process.

The function is the operator's own code (see SECURITY.md: it runs with the app's rights), so the
only guards here are the ones that protect the run: the model's arguments are validated against
the function's typed parameters, a call is bounded by the tool's `timeout`, and any exception comes
back to the model as an error text instead of crashing the run.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from pydantic import ValidationError

from schemas.functions import installed_functions
from schemas.models import FunctionTool
from schemas.templates import to_text


async def call_function(tool: FunctionTool, args: dict[str, Any]) -> tuple[bool, str]:
    """(ok, text for the agent) for one call of an installed function."""
    installed = installed_functions().functions.get(tool.function)
    if installed is None:
        return False, f"error: function `{tool.function}` is not installed on this server"
    try:
        checked = installed.arguments.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return False, f"error: invalid arguments for `{tool.function}`: {problems}"
    kwargs = {name: getattr(checked, name) for name in type(checked).model_fields}
    try:
        if inspect.iscoroutinefunction(installed.func):
            result = await asyncio.wait_for(installed.func(**kwargs), tool.timeout)
        else:
            result = await asyncio.wait_for(asyncio.to_thread(installed.func, **kwargs), tool.timeout)
    except TimeoutError:
        return False, f"error: `{tool.function}` took longer than {tool.timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - the operator's function failed: tell the model why
        return False, f"error: {type(exc).__name__}: {exc}"
    return True, to_text(result)
