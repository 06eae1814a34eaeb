"""Chat fixtures: model params aimed at the loopback server, configs, and tool-call shorthands."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from chatbot import ChatState, TurnResult
from orchestrator.llm_types import ModelParams
from testkit.replies import Reply, ToolCallSpec

T = TypeVar("T")
CHAT_MODEL = "openai/test-model"

BRIEF_CONFIG: dict[str, Any] = {
    "version": 1,
    "name": "research-brief",
    "description": "Research a topic and write a brief.",
    "inputs": {"topic": {"type": "string", "description": "What to research."}},
    "agents": {
        "researcher": {"role": "Research analyst", "goal": "Find the key facts."},
        "writer": {"role": "Writer", "goal": "Write a clear one-page brief."},
    },
    "steps": [
        {"id": "research", "type": "agent", "agent": "researcher", "prompt": "Research {{ inputs.topic }}."},
        {"id": "write", "type": "agent", "agent": "writer", "prompt": "Write a brief from:\n{{ steps.research.output }}"},
    ],
}


def brief_config() -> dict[str, Any]:
    """A fresh copy of a small valid config (tests may change it)."""
    return copy.deepcopy(BRIEF_CONFIG)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def call(name: str, **arguments: Any) -> ToolCallSpec:
    """A scripted tool call, e.g. `call("set_config", config=brief_config())`."""
    return ToolCallSpec(name, arguments)


def tool_reply(*calls: ToolCallSpec, text: str = "") -> Reply:
    return Reply(text=text, tool_calls=calls)


@pytest.fixture
def params() -> ModelParams:
    """The chat model: `openai/test-model` on the loopback server, no retries (fast failures)."""
    return ModelParams(model=CHAT_MODEL, timeout=10, retries=0)


@pytest.fixture
def state() -> ChatState:
    return ChatState()


@pytest.fixture
def chat(llm_client: Any, params: ModelParams) -> Any:
    """`chat(state, text)` runs one assistant turn through the real LiteLLM client."""
    from chatbot import assistant_turn

    def _turn(state: ChatState, text: str, **kwargs: Any) -> TurnResult:
        return run(assistant_turn(state, text, llm_client, params, **kwargs))

    return _turn
