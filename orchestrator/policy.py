"""What the engine may do, decided by code and settings — never by the (untrusted) YAML config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Policy:
    """Powers granted to runs by the host application.

    `allow_private_http` lets the `http` tool reach loopback/private addresses (tests, a local
    intranet deployment); `sandbox_image` is the Docker image `python` tools run in when the tool
    names none; `default_model` is the Settings model used when a workflow has no `default_model`;
    `durability` is LangGraph's checkpoint durability (`sync` survives kill -9 at the cost of one
    write per superstep on the critical path; `async` also resumes after a crash, measured).
    """

    allow_private_http: bool = False
    sandbox_image: str | None = None
    default_model: str | None = None
    durability: Literal["sync", "async", "exit"] = "async"
    key_source: Literal["settings", "environment"] = "settings"  # where error advice sends users for keys
    max_agent_depth: int = 3  # agent-as-tool nesting
