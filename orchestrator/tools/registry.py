"""The tools one agent may call in one step: OpenAI function specs out, results back as text.

Every failure a tool can meet (a refused URL, a sandbox error, bad JSON arguments, an unknown tool)
becomes a `ToolOutcome(ok=False)` that is returned to the agent as the tool's result, so the model
can correct itself; nothing a tool does can crash the run.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import BudgetExhausted, RunRejected
from orchestrator.policy import Policy
from orchestrator.redaction import KNOWN_SECRETS, without_known
from schemas.models import AgentTool, FunctionTool, HttpTool, PythonTool, Tool

AgentRunner = Callable[[str, str, int], Awaitable[str]]
"""(agent name, task, nesting depth) -> the agent's answer as text; used by agent-as-tool."""


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    text: str


@dataclass
class ToolBox:
    tools: dict[str, Tool]
    policy: Policy
    run_agent: AgentRunner | None = None
    depth: int = 0
    descriptions: dict[str, str] = field(default_factory=dict)
    delegation_limit: int | None = None  # a supervisor's `max_delegations`
    delegations: int = 0
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # named secrets for http tools

    def specs(self) -> list[dict[str, Any]]:
        return [tool_spec(name, tool, self.descriptions.get(name)) for name, tool in self.tools.items()]

    def parse_arguments(self, arguments: str) -> dict[str, Any]:
        try:
            parsed = json.loads(arguments or "{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        tool = self.tools.get(name)
        if tool is None:
            return ToolOutcome(False, f"error: there is no tool `{name}`; available: {', '.join(self.tools)}")
        try:
            args = json.loads(arguments or "{}")
        except ValueError as exc:
            return ToolOutcome(False, f"error: the arguments are not valid JSON ({exc}); send a JSON object")
        if not isinstance(args, dict):
            return ToolOutcome(False, "error: the arguments must be a JSON object")
        try:
            outcome = await self._dispatch(tool, args)
        except (BudgetExhausted, RunRejected):
            raise  # a run limit or a person's decision met inside a delegated agent or team ends the run
        except Exception as exc:  # noqa: BLE001 - any tool failure goes back to the model
            outcome = ToolOutcome(False, f"error: {type(exc).__name__}: {exc}")
        # A page, program or API may echo a key or a named secret: never show, store or pass it on.
        known = (*KNOWN_SECRETS.get(), *self.secrets.values())
        return ToolOutcome(outcome.ok, without_known(outcome.text, known)) if known else outcome

    async def _dispatch(self, tool: Tool, args: dict[str, Any]) -> ToolOutcome:
        match tool:
            case HttpTool():
                from orchestrator.tools.http_request import RequestInvalid, prepare
                from orchestrator.tools.http_tool import HttpRefused, send

                try:
                    request = prepare(tool, args, self.secrets)
                    response = await send(tool, request, allow_private=self.policy.allow_private_http)
                except RequestInvalid as exc:
                    return ToolOutcome(False, f"error: {exc}")
                except HttpRefused as exc:
                    return ToolOutcome(False, f"error: request refused: {exc}")
                return ToolOutcome(response.status < 400, response.to_tool_text())
            case FunctionTool():
                from orchestrator.tools.function_tool import call_function

                return ToolOutcome(*await call_function(tool, args))
            case PythonTool():
                from orchestrator.tools.python_tool import run_code

                code = args.get("code")
                if not isinstance(code, str) or not code.strip():
                    return ToolOutcome(False, "error: pass the Python source as `code`")
                ok, text = await run_code(tool, code, self.policy)
                return ToolOutcome(ok, text)
            case AgentTool():
                task = args.get("task")
                if not isinstance(task, str) or not task.strip():
                    return ToolOutcome(False, "error: pass the sub-task as `task`")
                if self.run_agent is None or self.depth >= self.policy.max_agent_depth:
                    return ToolOutcome(False, "error: agents are nested too deeply; answer yourself")
                if self.delegation_limit is not None and self.delegations >= self.delegation_limit:
                    return ToolOutcome(False, "error: no delegations left; answer with what you have")
                self.delegations += 1
                return ToolOutcome(True, await self.run_agent(tool.agent, task, self.depth + 1))
        return ToolOutcome(False, "error: unsupported tool")


def tool_spec(name: str, tool: Tool, description: str | None = None) -> dict[str, Any]:
    """The OpenAI function-tool spec the model sees for one configured tool."""
    properties: dict[str, Any]
    required: list[str]
    match tool:
        case HttpTool():
            text, properties, required = _http_spec(tool)
        case FunctionTool():
            from schemas.functions import installed_functions

            installed = installed_functions().functions.get(tool.function)
            text = tool.description or (installed.description if installed else f"Call `{tool.function}`.")
            schema = installed.parameters() if installed else {"properties": {}}
            return _spec(name, description or text, {**schema, "type": "object"})
        case PythonTool():
            text = tool.description or "Run Python 3 code in a sandbox; print what you want to see."
            properties = {"code": {"type": "string", "description": "Python source; print() the results."}}
            required = ["code"]
        case AgentTool():
            text = tool.description or f"Ask the `{tool.agent}` agent to do a sub-task."
            properties = {"task": {"type": "string", "description": "The sub-task, with all context needed."}}
            required = ["task"]
    return _spec(name, description or text, {"type": "object", "properties": properties, "required": required})


def _spec(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def _http_spec(tool: HttpTool) -> tuple[str, dict[str, Any], list[str]]:
    """What the model sees of an http tool: its typed `params`, and the URL when the config has none."""
    if tool.url is not None:
        text = tool.description or "Call this web API."
        properties: dict[str, Any] = {}
        for name, param in tool.params.items():
            prop: dict[str, Any] = {"type": param.type}
            if param.description:
                prop["description"] = param.description
            if param.enum is not None:
                prop["enum"] = list(param.enum)
            properties[name] = prop
        if len(tool.methods) > 1:
            properties["method"] = {"type": "string", "enum": list(tool.methods)}
        return text, properties, [n for n, p in tool.params.items() if p.required]
    text = (tool.description or "Fetch a URL.") + " Allowed URLs: " + ", ".join(tool.allow)
    properties = {
        "url": {"type": "string", "description": "The URL to fetch."},
        "method": {"type": "string", "enum": list(tool.methods)},
        "body": {"type": "string", "description": "Request body for POST."},
    }
    for name, param in tool.params.items():
        properties[name] = {"type": param.type, "description": param.description}
    return text, properties, ["url", *(n for n, p in tool.params.items() if p.required)]
