"""The Design draft and chat, kept in the visitor's browser so a reload loses nothing.

`snapshot` is what the page stores (`gr.BrowserState`, localStorage): the draft, the newest chat
messages and where the guided form is, cut to a size the browser keeps without complaint. The
page stores it in the same event that shows a turn (never in a follow-up event), so whatever the
visitor sees is already kept when they reload. A hand edit is kept with its verdict (issues and
diagram): the server screens it for keys first, so keystrokes typed in the instant before a reload,
whose verdict has not shown yet, are not. The browser sends it back on load, so `restore`
treats it as untrusted input: only known fields of the right types and sizes are taken, the draft
is checked like a hand edit, and a change waiting for confirmation is never restored (powers are
confirmed on the server, in this session).

One browser can serve several people (sign out, someone else signs in): the snapshot carries a
digest of its owner, and a draft comes back only to that owner — or, when it was made anonymously,
to whoever holds this browser's anonymous id (the same rule as its runs); the next person's page
replaces it with their own. What is stored never holds a key: pasted keys are refused before they
reach the chat or the draft, and Settings keys stay in server memory.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chatbot.state import ChatMessage, GuidedState
from ui.session import Session

STORAGE_KEY = "graphwright-design"
# BrowserState encrypts with this in the page: no secret, it only has to stay the same across restarts.
STORAGE_SECRET = "graphwright-design-v1"
MAX_DRAFT_CHARS = 64 * 1024  # the config size cap
MAX_MESSAGES = 60
MAX_MESSAGE_CHARS = 8_000
MAX_TOTAL_CHARS = 256 * 1024
_VERSION = 1


def snapshot(session: Session) -> dict[str, Any]:
    """What the browser keeps: newest messages first in line to be dropped last, within the caps."""
    chat = session.chat
    draft = chat.draft_yaml if len(chat.draft_yaml) <= MAX_DRAFT_CHARS else ""
    budget = MAX_TOTAL_CHARS - len(draft)
    kept: list[dict[str, str]] = []
    for message in reversed(chat.messages[-MAX_MESSAGES:]):
        content = message.content[:MAX_MESSAGE_CHARS]
        budget -= len(content)
        if budget < 0:
            break
        kept.append({"role": message.role, "content": content})
    guided = chat.guided
    return {
        "v": _VERSION,
        "owner": owner_tag(session.owner_id),
        "draft": draft,
        "mode": chat.mode,
        "messages": kept[::-1],
        "guided": None if guided is None else {"pattern": guided.pattern, "position": guided.position,
                                               "answers": dict(guided.answers), "trail": list(guided.trail),
                                               "done": guided.done},
    }


def owner_tag(owner_id: str) -> str:
    """Whose snapshot it is, without writing a user name into the browser's storage."""
    return hashlib.sha256(f"graphwright-design:{owner_id}".encode()).hexdigest()[:32]


def restore(session: Session, stored: Any) -> bool:
    """Take back what the browser kept into a fresh session; False (and no change) when there is nothing
    usable, it is someone else's, or the session already has a chat."""
    if session.chat.messages or not isinstance(stored, dict) or stored.get("v") != _VERSION:
        return False
    owner = stored.get("owner")  # none in what the page stored before owners were tagged: this browser's
    if owner is not None and owner not in {owner_tag(session.owner_id), owner_tag(session.owner)}:
        return False
    messages = _messages(stored.get("messages"))
    draft = stored.get("draft")
    draft = draft if isinstance(draft, str) and len(draft) <= MAX_DRAFT_CHARS else ""
    if not messages and not draft.strip():
        return False
    chat = session.chat
    chat.messages = messages
    chat.mode = "guided" if stored.get("mode") == "guided" else "llm"
    chat.guided = _guided(stored.get("guided"))
    chat.pending = None
    if draft.strip():  # checked like a hand edit: size, keys, validation
        from chatbot.editor import user_edited_yaml

        user_edited_yaml(chat, draft)
    return True


def _messages(raw: Any) -> list[ChatMessage]:
    if not isinstance(raw, list):
        return []
    out: list[ChatMessage] = []
    for item in raw[-MAX_MESSAGES:]:
        if isinstance(item, dict) and item.get("role") in ("user", "assistant") and isinstance(item.get("content"), str):
            out.append(ChatMessage(item["role"], item["content"][:MAX_MESSAGE_CHARS]))
    return out


def _guided(raw: Any) -> GuidedState | None:
    """The guided form's place, when it names a known pattern and a question inside it."""
    from chatbot.guided.patterns import find_pattern, questions_for

    if not isinstance(raw, dict):
        return None
    pattern = find_pattern(raw.get("pattern")) if isinstance(raw.get("pattern"), str) else None
    if pattern is None:
        return GuidedState()
    count = len(questions_for(pattern))
    keys = {q.key for q in questions_for(pattern)}
    position, trail, answers = raw.get("position"), raw.get("trail"), raw.get("answers")
    if not (isinstance(position, int) and 0 <= position < count and isinstance(trail, list)
            and all(isinstance(t, int) and 0 <= t < count for t in trail) and isinstance(answers, dict)):
        return GuidedState()
    kept = {k: v[:2000] for k, v in answers.items() if k in keys and isinstance(v, str)}
    return GuidedState(pattern.key, position, kept, list(trail), raw.get("done") is True)

