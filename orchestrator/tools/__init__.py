"""Tools agents can call: `http` (allow-listed, public addresses only), `python` (Docker sandbox)
and other agents (agent-as-tool, also how a supervisor delegates)."""

from orchestrator.tools.registry import ToolBox, ToolOutcome, tool_spec

__all__ = ["ToolBox", "ToolOutcome", "tool_spec"]
