"""Prompts that outgrow the model's context window: count, compare, then fail, cut or summarise.

Counting with a tokenizer costs milliseconds on a long prompt, so it only happens when a cheap
bound says the prompt might be near the window: a token is at least one UTF-8 byte, so a prompt
whose bytes (plus framing) fit cannot overflow. Almost every call stops at that bound.

The window comes from the model alias's `context_window`, the offline model's declared window, or
LiteLLM's model info; a model LiteLLM does not know is not checked (one warning per run says so).
What happens on overflow is the agent's `on_overflow`: `fail` names the step, model, count and the
biggest inputs; `cut_middle` keeps the start and end of the biggest inputs; `summarise` asks the
agent's `summary_model` to shorten them (those calls are ordinary model calls: counted and shown).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from orchestrator.errors import StepFailed
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams
from orchestrator.offline_model import CONTEXT_WINDOW as OFFLINE_WINDOW
from orchestrator.offline_model import is_offline

FRAMING_TOKENS = 4  # per message
CUT_MARK = "\n\n[… {n:,} characters cut to fit the model's context window …]\n\n"
SUMMARY_PROMPT = ("Summarise the text the user gives, keeping every fact, name, number and conclusion "
                  "another step may need. Answer with the summary only, in at most {words} words.")
_MAX_ROUNDS = 3


@dataclass
class Overflow:
    """What one agent's calls do when the prompt is too long, and the inputs its prompt holds."""

    mode: str = "fail"
    agent: str | None = None
    summary: ModelParams | None = None
    sources: dict[str, str] = field(default_factory=dict)  # template reference -> the text it inserted


@functools.lru_cache(maxsize=256)
def _litellm_window(model: str) -> int | None:
    from orchestrator.llm import load_litellm  # configured for offline use: may be the first import

    litellm = load_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception:  # not in LiteLLM's map: unknown
        return None
    window = info.get("max_input_tokens") or info.get("max_tokens")
    return int(window) if window else None


async def _litellm_loaded(params: ModelParams) -> None:
    """Import LiteLLM off the event loop when `window_of` is about to need it (the first run of a
    process, if the app's warm-up has not finished): the import takes seconds, and the loop serves
    every other visitor meanwhile."""
    if not params.context_window and not is_offline(params.model):
        from orchestrator.llm import litellm_module, litellm_ready

        if not litellm_ready():
            await litellm_module()


def window_of(params: ModelParams) -> int | None:
    """Prompt tokens `params.model` accepts, or None when nobody knows."""
    if params.context_window:
        return params.context_window
    if is_offline(params.model):
        return OFFLINE_WINDOW
    return _litellm_window(params.model)


def might_overflow(request: LLMRequest, window: int) -> bool:
    """False when the prompt certainly fits (bytes bound); True means: count the tokens."""
    chars = FRAMING_TOKENS * len(request.messages)
    for message in request.messages:
        content = message.get("content")
        chars += len(content) if isinstance(content, str) else len(json.dumps(content or ""))
    extra = 0
    if request.tools or request.json_schema or any(m.get("tool_calls") for m in request.messages):
        extra = len(json.dumps([request.tools, request.json_schema,
                                [m.get("tool_calls") for m in request.messages]]))
    if 4 * (chars + extra) <= window:  # even at 4 bytes per character it fits
        return False
    size = extra + FRAMING_TOKENS * len(request.messages) + sum(
        len(m["content"].encode("utf-8")) if isinstance(m.get("content"), str) else len(json.dumps(m.get("content") or ""))
        for m in request.messages)
    return size > window


def count_tokens(request: LLMRequest) -> int:
    from orchestrator.pricing import count_prompt_tokens

    tokens = count_prompt_tokens(request.params.model, request.messages)
    if request.tools or request.json_schema:
        tokens += len(json.dumps([request.tools, request.json_schema])) // 4
    return tokens


Summarise = Callable[[LLMRequest], Awaitable[LLMResult]]


async def fit(request: LLMRequest, overflow: Overflow, summarise: Summarise,
              note: Callable[[str], None]) -> LLMRequest:
    """`request` unchanged when it fits; else shortened as `overflow.mode` says, or StepFailed."""
    await _litellm_loaded(request.params)
    window = window_of(request.params)
    if window is None:
        note(f"`{request.params.model}` has no known context window (LiteLLM's model info does not list it), "
             "so prompts are not checked against one; set `context_window` on a model alias to check them")
        return request
    if not might_overflow(request, window):
        return request
    tokens = count_tokens(request)
    if tokens <= window:
        return request
    step = request.step_id or "?"
    if overflow.mode == "fail":
        raise StepFailed(_fail_message(request, overflow, tokens, window), step_id=step)
    original = tokens
    for _ in range(_MAX_ROUNDS):
        pieces = _pieces(request, overflow)
        if not pieces:
            break
        name, text = pieces[0]
        excess_chars = int(len(text) * min(1.0, (tokens - window) / max(_tokens_of(request, text), 1))) + 200
        keep = max(len(text) - excess_chars, 0)
        if overflow.mode == "summarise" and overflow.summary is not None:
            shorter = await _summarised(text, keep, overflow.summary, step, summarise)
        else:
            shorter = cut_middle(text, keep)
        request = _replace(request, text, shorter)
        overflow.sources.pop(name, None)
        tokens = count_tokens(request)
        verb = "summarised" if overflow.mode == "summarise" else "cut the middle of"
        note(f"step `{step}`: the prompt was {original:,} tokens, over `{request.params.model}`'s window of "
             f"{window:,}; {verb} `{name}` ({len(text):,} → {len(shorter):,} characters)")
        if tokens <= window:
            return request
    raise StepFailed(_fail_message(request, overflow, tokens, window) + " (even after shortening its inputs)",
                     step_id=step)


def cut_middle(text: str, keep: int) -> str:
    """The first and last `keep / 2` characters of `text` with a visible mark where the rest was."""
    if len(text) <= keep:
        return text
    head = keep // 2
    tail = keep - head
    return text[:head] + CUT_MARK.format(n=len(text) - keep) + (text[-tail:] if tail else "")


async def _summarised(text: str, keep: int, params: ModelParams, step: str, summarise: Summarise) -> str:
    window = window_of(params)
    if window is not None and len(text) // 2 > window:  # the summariser's own window bounds its input
        text = cut_middle(text, window * 2)
    words = max(keep // 8, 50)
    request = LLMRequest(params, [{"role": "system", "content": SUMMARY_PROMPT.format(words=words)},
                                  {"role": "user", "content": text}], None, None, step)
    result = await summarise(request)
    return cut_middle(result.text, keep)


def _tokens_of(request: LLMRequest, text: str) -> int:
    from orchestrator.pricing import count_text_tokens

    return count_text_tokens(request.params.model, text)


def _pieces(request: LLMRequest, overflow: Overflow) -> list[tuple[str, str]]:
    """The inputs that can be shortened, longest first: the prompt's template values when known
    (and still in the prompt), else the user and tool messages themselves."""
    contents = [m.get("content") for m in request.messages if isinstance(m.get("content"), str)]
    found = [(name, text) for name, text in overflow.sources.items()
             if len(text) > 200 and any(text in c for c in contents)]
    if not found:
        found = [(f"{m['role']} message", m["content"]) for m in request.messages
                 if m.get("role") in ("user", "tool") and isinstance(m.get("content"), str)]
    return sorted(found, key=lambda p: -len(p[1]))


def _replace(request: LLMRequest, old: str, new: str) -> LLMRequest:
    messages = [{**m, "content": m["content"].replace(old, new, 1)} if isinstance(m.get("content"), str)
                and old in m["content"] else m for m in request.messages]
    return LLMRequest(request.params, messages, request.tools, request.json_schema, request.step_id)


def _fail_message(request: LLMRequest, overflow: Overflow, tokens: int, window: int) -> str:
    pieces = _pieces(request, overflow)[:3]
    biggest = ", ".join(f"`{name}` ≈{_tokens_of(request, text):,} tokens" for name, text in pieces)
    agent = f"agent `{overflow.agent}`" if overflow.agent else "the agent"
    return (f"step `{request.step_id}`: the prompt is {tokens:,} tokens, over the context window of "
            f"`{request.params.model}` ({window:,} tokens); biggest inputs: {biggest or 'the prompt itself'}. "
            f"Give {agent} `on_overflow: cut_middle` or `on_overflow: summarise` (with a `summary_model`), "
            "use a model with a larger window, or pass less text")
