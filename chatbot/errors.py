"""Exceptions of the chat package.

    ChatError                        base of everything raised by `chatbot`
    ├── InputRejected (ValueError)   the user's text was refused before any model call
    │                                (too long, or it carries an API key)
    └── DraftError (ValueError)      a change proposed for the draft could not be applied;
        │                            `.problems` lists every reason, worded for the model to fix
        └── EditPathError            an edit names a path that does not exist in the draft

The turn functions never let these escape to the page: they become the reply, or the errors fed
back to the model for repair. They exist so each module can say *what* went wrong in one place.
"""

from __future__ import annotations


class ChatError(Exception):
    """Base class of every error raised by the `chatbot` package."""


class InputRejected(ChatError, ValueError):
    """The user's message was refused before any model saw it; the message says what to do."""


class DraftError(ChatError, ValueError):
    """A proposed change could not be applied; `problems` holds every reason found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems) or ["the change could not be applied"]
        super().__init__("\n".join(self.problems))


class EditPathError(DraftError):
    """An edit operation names a path that does not exist (or cannot exist) in the draft."""

    def __init__(self, message: str) -> None:
        super().__init__([message])
