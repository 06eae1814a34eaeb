"""The embedded default model: a LiteLLM custom provider (`offline/synthetic`) that needs no network.

It lets graphwright run every workflow on a laptop or a Space without keys: answers are deterministic
and clearly synthetic (see `offline_synth`), streamed token by token like a real model, cost 0, and
the client marks them `synthetic=True`. Registered with LiteLLM lazily and idempotently.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from orchestrator.offline_synth import SyntheticReply, synthesize

PROVIDER = "offline"
MODEL = "offline/synthetic"
DEFAULT_TOKEN_DELAY = 0.01
CONTEXT_WINDOW = 32_000  # declared, so prompts that outgrow it fail (or shrink) offline like anywhere
_PIECE_RE = re.compile(r"\s*\S+|\s+")


def token_delay() -> float:
    """Seconds between streamed tokens: `GRAPHWRIGHT_OFFLINE_TOKEN_DELAY`, else 10 ms."""
    try:
        return max(0.0, float(os.environ.get("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", DEFAULT_TOKEN_DELAY)))
    except ValueError:
        return DEFAULT_TOKEN_DELAY


def _words(text: str) -> int:
    return len(text.split())


def usage_for(messages: list[dict[str, Any]], reply: SyntheticReply) -> dict[str, int]:
    """Deterministic token counts: ~4/3 tokens per word plus a few per message."""
    prompt = sum(4 + (_words(str(m.get("content") or "")) * 4 + 2) // 3 for m in messages)
    completion = max(1, (_words(reply.text + " " + reply.tool_arguments) * 4 + 2) // 3)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _request_parts(messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> SyntheticReply:
    tools = optional_params.get("tools")
    fmt = optional_params.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
    return synthesize(messages, tools, schema)


def _tool_chunk(reply: SyntheticReply) -> dict[str, Any]:
    return {"id": f"call_offline_{uuid.uuid5(uuid.NAMESPACE_URL, reply.tool_arguments).hex[:12]}",
            "type": "function", "index": 0,
            "function": {"name": reply.tool_name, "arguments": reply.tool_arguments}}


def _chunks(messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    reply = _request_parts(messages, optional_params)
    for piece in _PIECE_RE.findall(reply.text):
        yield {"text": piece, "tool_use": None, "is_finished": False, "finish_reason": "", "usage": None,
               "index": 0}
    finish = "tool_calls" if reply.tool_name else "stop"
    yield {"text": "", "tool_use": _tool_chunk(reply) if reply.tool_name else None, "is_finished": True,
           "finish_reason": finish, "usage": usage_for(messages, reply), "index": 0}


def _make_handler() -> Any:
    """Build the CustomLLM subclass (litellm is imported lazily: it costs seconds)."""
    import litellm
    from litellm import CustomLLM

    class OfflineModel(CustomLLM):
        """Answers `offline/*` models in-process."""

        def _response(self, model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any],
                      model_response: Any) -> Any:
            reply = _request_parts(messages, optional_params)
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
            if reply.tool_name:
                message["tool_calls"] = [{k: v for k, v in _tool_chunk(reply).items() if k != "index"}]
            return litellm.ModelResponse(
                model=model, created=int(time.time()), usage=usage_for(messages, reply),
                choices=[{"index": 0, "message": message,
                          "finish_reason": "tool_calls" if reply.tool_name else "stop"}])

        def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                       model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                       logging_obj: Any, optional_params: dict, *args: Any, **kwargs: Any) -> Any:
            return self._response(model, messages, optional_params, model_response)

        async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                              model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                              logging_obj: Any, optional_params: dict, *args: Any, **kwargs: Any) -> Any:
            return self._response(model, messages, optional_params, model_response)

        def streaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                      model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                      logging_obj: Any, optional_params: dict, *args: Any, **kwargs: Any) -> Iterator[Any]:
            delay = token_delay()
            for chunk in _chunks(messages, optional_params):
                if delay:
                    time.sleep(delay)
                yield chunk

        async def astreaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                             model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                             logging_obj: Any, optional_params: dict, *args: Any,
                             **kwargs: Any) -> AsyncIterator[Any]:
            delay = token_delay()
            for chunk in _chunks(messages, optional_params):
                await asyncio.sleep(delay)  # also yields to the loop when delay is 0
                yield chunk

    return OfflineModel()


def register_offline_provider() -> None:
    """Make `offline/*` models callable through LiteLLM; calling it again changes nothing."""
    import litellm

    if any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [*litellm.custom_provider_map,
                                   {"provider": PROVIDER, "custom_handler": _make_handler()}]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()


def is_offline(model: str) -> bool:
    return model.startswith(f"{PROVIDER}/")
