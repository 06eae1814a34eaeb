"""The chat that turns a conversation into a validated config.

Two ways in, one state: `assistant_turn` (any LiteLLM model, through `orchestrator`'s model seam)
and `guided_turn` (a deterministic form for when no model is configured). Both keep the draft
valid, report through `TurnResult`, and never store a pasted key. The UI keeps one `ChatState`
per browser session; nothing here imports gradio or holds module-level mutable state.
"""

from chatbot.assistant import MAX_REPAIRS, assistant_turn
from chatbot.diff import yaml_diff
from chatbot.editor import confirm, reject, user_edited_yaml
from chatbot.errors import ChatError, DraftError, EditPathError, InputRejected
from chatbot.estimate import Estimate, estimate_cost
from chatbot.guard import MAX_INPUT_CHARS
from chatbot.guided import PATTERNS, guided_turn, start_guided
from chatbot.prompting import system_prompt
from chatbot.state import ChatMessage, ChatState, GuidedState, PendingChange, TurnResult

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_REPAIRS",
    "PATTERNS",
    "ChatError",
    "ChatMessage",
    "ChatState",
    "DraftError",
    "EditPathError",
    "Estimate",
    "GuidedState",
    "InputRejected",
    "PendingChange",
    "TurnResult",
    "assistant_turn",
    "confirm",
    "estimate_cost",
    "guided_turn",
    "reject",
    "start_guided",
    "system_prompt",
    "user_edited_yaml",
    "yaml_diff",
]
