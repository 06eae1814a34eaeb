"""What a run records about where its config came from: the text, the chat turn, the estimate.

The app and the CLI both build the `RunOrigin` they hand to `Engine.run` here, so every run
carries the pre-run estimate history compares with what the run really cost (issue 17, item 4c).
"""

from __future__ import annotations

from chatbot.estimate import estimate_cost
from chatbot.state import ChatState
from orchestrator.events import RunOrigin
from schemas.models import Workflow


def run_origin(workflow: Workflow, text: str | None, *, source: str, default_model: str,
               override: str | None = None, chat: ChatState | None = None) -> RunOrigin:
    """The origin of a run of `workflow` (loaded from `text`); `chat` when the text is its draft.

    `default_model` is the model agents without their own one use (the session's or environment's
    default) and `override` the run's model override, so the estimate prices what really runs.
    """
    estimate = estimate_cost(workflow, default_model=default_model, override=override)
    turn = chat.draft_turn if chat is not None else None
    return RunOrigin(
        original=text, source=source, chat_turn=turn, chat_request=chat.draft_request if chat and turn else "",
        estimate_usd=round(estimate.cost_usd, 8), estimate_worst_usd=round(estimate.worst_cost_usd, 8),
        estimate_tokens=estimate.tokens, estimate_worst_tokens=estimate.worst_tokens,
    )
