"""The tools the model edits the draft with, and turning its calls (or JSON text) into actions.

The model never hands back YAML text: it calls `set_config` (a whole config as JSON),
`apply_edits` (targeted operations) or `ask_user` (one question with a default). Models without
tool calling may answer with the config as a JSON block instead; that is read as `set_config`.
Anything malformed becomes a `DraftError` whose problems are sent back to the model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from chatbot.edits import EditOp
from chatbot.errors import DraftError
from orchestrator.llm_types import ToolCallRequest

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)
_EDITS = TypeAdapter(list[EditOp])


@dataclass
class SetConfig:
    config: dict[str, Any]


@dataclass
class ApplyEdits:
    edits: list[EditOp]


@dataclass
class AskUser:
    question: str
    default: str = ""


Action = SetConfig | ApplyEdits | AskUser


def tool_specs() -> list[dict[str, Any]]:
    """OpenAI function-tool specs for the three draft tools (a fresh list per request)."""
    return [
        _spec(
            "set_config",
            "Replace the whole draft with a complete config (a new design or a large restructuring).",
            {"config": {"type": "object", "description": "The complete config, as JSON."}},
        ),
        _spec(
            "apply_edits",
            "Change parts of the draft and keep everything else (and the user's comments) as is.",
            {
                "edits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "op": {"type": "string", "enum": ["set", "delete", "append"]},
                            "path": {
                                "type": "string",
                                "description": "Dotted path, e.g. `agents.writer.model` or `steps.review.prompt`; "
                                "in a list, an index or a step id.",
                            },
                            "value": {"description": "The new value (for set and append)."},
                        },
                        "required": ["op", "path"],
                    },
                }
            },
        ),
        _spec(
            "ask_user",
            "Ask the person one focused question, proposing a default they can accept with 'yes'.",
            {
                "question": {"type": "string"},
                "default": {"type": "string", "description": "The answer you propose."},
            },
        ),
    ]


def _spec(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(properties)[:1]},
        },
    }


def parse_call(call: ToolCallRequest) -> Action:
    """The action a tool call asks for; raises DraftError when its arguments are unusable."""
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise DraftError([f"the arguments of `{call.name}` are not valid JSON ({exc}); send valid JSON"]) from None
    if not isinstance(args, dict):
        raise DraftError([f"the arguments of `{call.name}` must be a JSON object"])
    if call.name == "set_config":
        config = args.get("config", args if "version" in args else None)
        if isinstance(config, str):
            config = _loads_object(config, "set_config.config")
        if not isinstance(config, dict):
            raise DraftError(["`set_config` needs `config`: the complete config as a JSON object"])
        return SetConfig(config)
    if call.name == "apply_edits":
        try:
            return ApplyEdits(_EDITS.validate_python(args.get("edits")))
        except ValidationError as exc:
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise DraftError([f"`apply_edits` needs `edits`: a list of {{op, path, value}} ({details})"]) from None
    if call.name == "ask_user":
        question = str(args.get("question") or "").strip()
        if not question:
            raise DraftError(["`ask_user` needs a `question`"])
        return AskUser(question, str(args.get("default") or "").strip())
    raise DraftError([f"there is no tool `{call.name}`; use `set_config`, `apply_edits` or `ask_user`"])


def parse_text(text: str) -> tuple[str, Action | None]:
    """For models without tool calls: a JSON config block in the text becomes `set_config`.

    Returns the text without the block, and the action (None when the text holds no JSON).
    """
    match = _FENCE.search(text)
    candidate = match.group(1) if match else text.strip()
    if not (candidate.lstrip().startswith("{") and ('"version"' in candidate or '"agents"' in candidate)):
        return text, None
    rest = (text[: match.start()] + text[match.end() :]).strip() if match else ""
    config = _loads_object(candidate, "the JSON config in your reply")
    return rest, SetConfig(config.get("config", config) if isinstance(config.get("config"), dict) else config)


def _loads_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise DraftError([f"{what} is not valid JSON ({exc}); send valid JSON"]) from None
    if not isinstance(value, dict):
        raise DraftError([f"{what} must be a JSON object"])
    return value
