"""The LLM-backed assistant: one user message in, a reply and a (still valid) draft out.

Each turn sends the system prompt, the fitted history and the current draft in full; the model
answers with text and tool calls that change the draft. The combined change is validated; on
failure the problems go back to the model ("fix these and try again") at most `MAX_REPAIRS` times,
after which the last valid draft stays and the reply says what could not be done. A valid change
that raises powers waits in `state.pending` for `confirm()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from chatbot import draft as drafts
from chatbot.context import DEFAULT_CONTEXT_TOKENS, build_messages
from chatbot.edits import apply_edits
from chatbot.errors import DraftError, InputRejected
from chatbot.guard import holds_key, screen
from chatbot.prices import price_of
from chatbot.prompting import draft_message, repair_message, system_prompt
from chatbot.state import KEY_REMOVED, ChatState, PendingChange, TurnResult
from chatbot.tools import Action, ApplyEdits, AskUser, SetConfig, parse_call, parse_text, tool_specs
from chatbot.turns import finish
from orchestrator.errors import ModelCallError
from orchestrator.llm_types import LLMRequest, LLMResult, ModelClient, ModelParams, OnToken
from orchestrator.secrets import redact

MAX_REPAIRS = 2
log = logging.getLogger(__name__)


@dataclass
class _Round:
    """What one model answer amounted to once its actions were applied to the base."""

    text: str
    questions: list[str] = field(default_factory=list)
    changed: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    per_call: dict[str, str] = field(default_factory=dict)  # tool call id -> what to tell the model


async def assistant_turn(
    state: ChatState,
    user_text: str,
    client: ModelClient,
    params: ModelParams,
    *,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    on_token: OnToken | None = None,
    known: tuple[str, ...] = (),
) -> TurnResult:
    """Answer `user_text`: talk, change the draft through tools, validate, repair, report.

    `on_token` receives the model's text as it streams (the UI shows it while the turn runs);
    `known` are the key values the app holds (a message containing one is refused).
    """
    before = state.draft_yaml
    state.mode = "llm"
    try:
        screen(user_text, known=known)
    except InputRejected as exc:
        if holds_key(user_text, known):
            state.add("user", KEY_REMOVED)
            return finish(state, before, str(exc), default_model=params.model)
        return finish(state, before, str(exc), errors=[str(exc)], default_model=params.model, record=False)
    state.add("user", user_text)

    base_workflow, base_problems = drafts.validate(before) if before.strip() else (None, [])
    window = price_of(params.model).context_window
    budget = min(context_tokens, int(window * 0.6)) if window else context_tokens
    messages = build_messages(
        state, system=system_prompt(), draft=draft_message(before, base_problems), budget=budget
    )
    try:
        outcome = await _converse(state, messages, client, params, base_workflow, on_token)
    except ModelCallError as exc:
        log.warning("chat model call failed: %s", type(exc).__name__)
        reply = f"I could not reach the model ({redact(str(exc))}). Your draft is unchanged; try again, " \
                "check Settings, or switch to guided mode."
        return finish(state, before, reply, errors=[reply], default_model=params.model)
    return finish(state, before, outcome[0], errors=outcome[1], default_model=params.model)


async def _converse(
    state: ChatState,
    messages: list[dict[str, Any]],
    client: ModelClient,
    params: ModelParams,
    base_workflow: Any,
    on_token: OnToken | None,
) -> tuple[str, list[str]]:
    """Ask, apply, and repair up to MAX_REPAIRS times; returns (reply, errors for the user)."""
    tools = tool_specs()
    texts: list[str] = []
    for attempt in range(MAX_REPAIRS + 1):
        result = await client.complete(LLMRequest(params=params, messages=messages, tools=tools), on_token)
        round_ = _interpret(result, state.draft_yaml)
        if round_.text:
            texts.append(round_.text)
        proposal = None
        if round_.changed is not None and not round_.problems:
            try:
                proposal = drafts.propose(round_.changed, base_text=_base_text(state), before=base_workflow)
            except DraftError as exc:
                round_.problems = exc.problems
        if not round_.problems:
            return _conclude(state, texts, round_, proposal), []
        log.info("chat draft rejected (attempt %d, %d problems)", attempt + 1, len(round_.problems))
        messages = messages + _feedback(result, round_)
    problems = round_.problems  # the model's own words would claim a change that did not happen
    listed = "\n".join(f"- {p}" for p in problems[:10])
    reply = (
        "I could not make that change valid, so the draft is unchanged (it is still the last valid "
        f"version). What stopped me:\n{listed}\nYou can rephrase the request or edit the YAML directly."
    )
    return _join([reply, *round_.questions]), problems


def _interpret(result: LLMResult, base_yaml: str) -> _Round:
    """Apply every action of one answer, in order, to a copy of the draft's data."""
    text = redact(result.text or "").strip()
    actions: list[tuple[str | None, Action]] = []
    round_ = _Round(text=text)
    if result.tool_calls:
        for call in result.tool_calls:
            try:
                actions.append((call.id, parse_call(call)))
                round_.per_call[call.id] = "ok"
            except DraftError as exc:
                round_.problems += exc.problems
                round_.per_call[call.id] = repair_message(exc.problems)
    else:
        try:
            round_.text, action = parse_text(text)
            if action is not None:
                actions.append((None, action))
        except DraftError as exc:
            round_.problems += exc.problems
            round_.text = ""  # broken JSON is not worth showing to the person
    data: dict[str, Any] | None = None
    for call_id, action in actions:
        try:
            match action:
                case AskUser():
                    hint = f" (proposed: **{action.default}** — say “yes” to accept)" if action.default else ""
                    round_.questions.append(redact(action.question) + hint)
                case SetConfig():
                    data = action.config
                case ApplyEdits():
                    data = apply_edits(data if data is not None else drafts.plain_data(base_yaml), action.edits)
        except DraftError as exc:
            round_.problems += exc.problems
            if call_id:
                round_.per_call[call_id] = repair_message(exc.problems)
    round_.changed = data
    return round_


def _feedback(result: LLMResult, round_: _Round) -> list[dict[str, Any]]:
    """The assistant message and the tool results that tell the model what to fix."""
    note = repair_message(round_.problems) + " Nothing was applied: the draft is unchanged."
    if not result.tool_calls:
        return [{"role": "assistant", "content": result.text or ""}, {"role": "user", "content": note}]
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in result.tool_calls
    ]
    out: list[dict[str, Any]] = [{"role": "assistant", "content": result.text or None, "tool_calls": calls}]
    last = result.tool_calls[-1].id
    for call in result.tool_calls:
        content = round_.per_call.get(call.id, "ok")
        out.append({"role": "tool", "tool_call_id": call.id, "content": note if call.id == last else content})
    return out


def _conclude(state: ChatState, texts: list[str], round_: _Round, proposal: drafts.Proposal | None) -> str:
    """Apply a valid proposal (or hold it for confirmation) and word the reply."""
    parts = [texts[-1]] if texts else []
    if proposal is not None and proposal.yaml != state.draft_yaml:
        if proposal.powers:
            listed = "\n".join(f"- {p}" for p in proposal.powers)
            state.pending = PendingChange(proposal.yaml, proposal.powers, _join(parts))
            parts.append(f"This change gives the workflow more power, so it waits for your OK:\n{listed}\n"
                         "Confirm to apply it, or reject to keep the current draft.")
        else:
            state.draft_yaml = state.last_valid_yaml = proposal.yaml
            state.pending = None
            if not parts:
                parts.append("I updated the draft.")
    elif proposal is not None and not parts:
        parts.append("The draft already says that, so nothing changed.")
    parts += round_.questions
    return _join(parts) or "Could you tell me more about what the workflow should do?"


def _base_text(state: ChatState) -> str:
    """The text to render changes onto: the user's (possibly hand-edited) draft if it is YAML."""
    try:
        drafts.plain_data(state.draft_yaml)
        return state.draft_yaml
    except DraftError:
        return state.last_valid_yaml


def _join(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p)
