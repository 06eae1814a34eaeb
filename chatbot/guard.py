"""What is refused before any model sees it: oversized messages and pasted keys.

A key is recognised by its shape (even a short one, like `sk-` and a few characters) or because it
is the value of a key the app holds (the environment's or the session's own, any shape). A pasted
key is never stored: the history gets `[key removed]` instead of the message and the
reply points to Settings, where keys live for the session only. An oversized message is refused
with its length, so the user can shorten it; neither costs a model call.
"""

from __future__ import annotations

from collections.abc import Iterable

from chatbot.errors import InputRejected
from chatbot.state import KEY_REMOVED
from orchestrator.redaction import usable
from orchestrator.secrets import looks_like_pasted_key

MAX_INPUT_CHARS = 8_000
KEY_REPLY = (
    "That looks like an API key or token, so I did not keep it: it is not in the chat history and it "
    "will never be written into the config. Please paste keys in **Settings** instead — they are used "
    "for this session's model calls only. Then tell me what you'd like the workflow to do."
)


def holds_key(text: str, known: Iterable[str] = ()) -> bool:
    """Whether `text` carries a key: a known key's value, or anything shaped like a key."""
    return looks_like_pasted_key(text) or any(key in text for key in usable(known))


def screen(text: str, *, max_chars: int = MAX_INPUT_CHARS, known: Iterable[str] = ()) -> None:
    """Raise InputRejected when `text` is too long or carries something that looks like a key."""
    if len(text) > max_chars:
        raise InputRejected(
            f"Your message is {len(text):,} characters; the limit is {max_chars:,}. "
            "Please shorten it (describe the workflow rather than pasting whole documents)."
        )
    if holds_key(text, known):
        raise InputRejected(KEY_REPLY)


def history_text(text: str, known: Iterable[str] = ()) -> str:
    """What the history may keep of a message: never a key."""
    return KEY_REMOVED if holds_key(text, known) else text
