"""The chat's state and turn result: plain dataclasses, one `ChatState` per browser session.

Nothing here is module-level or shared: the UI keeps a `ChatState` in `gr.State`, passes it to a
turn function, and renders the `TurnResult`. `to_dict`/`from_dict` make the state JSON-serialisable
so it can be saved or sent across a process boundary as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]
Mode = Literal["llm", "guided"]
KEY_REMOVED = "[key removed]"


@dataclass
class ChatMessage:
    """One message as the chat shows it; keys are never stored here (see `KEY_REMOVED`)."""

    role: Role
    content: str


@dataclass
class PendingChange:
    """A valid change that widens the workflow's powers, held until the user confirms it."""

    yaml: str
    powers: list[str]
    reply: str = ""


@dataclass
class GuidedState:
    """Where the guided interview is: the chosen pattern, the answers so far, and the way back."""

    pattern: str | None = None
    position: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    trail: list[int] = field(default_factory=list)
    done: bool = False


@dataclass
class ChatState:
    """Everything one browser session's chat needs.

    `draft_yaml` is what the editor shows (it may be a hand edit that does not validate yet);
    `last_valid_yaml` is the newest draft that passed validation, which the assistant falls back to.
    `summary` stands in for the messages before `summarized_upto` when the context gets long.
    """

    messages: list[ChatMessage] = field(default_factory=list)
    draft_yaml: str = ""
    last_valid_yaml: str = ""
    summary: str = ""
    summarized_upto: int = 0
    mode: Mode = "llm"
    guided: GuidedState | None = None
    pending: PendingChange | None = None
    # The chat turn (1-based count of user messages) whose answer last changed the draft, and what
    # the person asked then; None after a hand edit. Runs record it with their config version.
    draft_turn: int | None = None
    draft_request: str = ""

    def add(self, role: Role, content: str) -> None:
        self.messages.append(ChatMessage(role, content))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatState:
        data = dict(data)
        data["messages"] = [ChatMessage(**m) for m in data.get("messages", [])]
        if data.get("guided") is not None:
            data["guided"] = GuidedState(**data["guided"])
        if data.get("pending") is not None:
            data["pending"] = PendingChange(**data["pending"])
        return cls(**data)


@dataclass
class TurnResult:
    """What the page shows after a turn: the reply, the current YAML, what changed, and why not.

    `errors` are problems the user should see (the draft shown is still the last valid one);
    `diff` is the unified diff of the YAML and `plain_diff` the same change in words, when both
    drafts are valid;
    `pending_confirmation` lists raised powers waiting for `confirm()` / `reject()`.
    """

    reply: str
    yaml: str
    diff: str = ""
    errors: list[str] = field(default_factory=list)
    estimate: str | None = None
    pending_confirmation: list[str] = field(default_factory=list)
    plain_diff: str = ""  # the change in plain words with the cost change per run (`chatbot.plain_diff`)
