"""Per-browser-session state, kept in `gr.State` (never in module globals).

One `Session` per browser tab: its owner id, chat, keys and runs. Keys live only here, in server
memory for the session's lifetime; `__repr__` masks them so a log line or traceback cannot leak one.

An anonymous person's owner id is a 128-bit random token that their browser keeps (localStorage),
so their runs stay theirs across a page reload or an app restart; whoever holds the token sees
those runs, like a session cookie. A signed-in user's runs follow the user name instead: `hf:<name>`
for Hugging Face sign-in on a Space, `user:<name>` for the app's own `auth=`. The Hugging Face
access token of a signed-in visitor stays here (masked in `repr`) and is used only for their calls.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from chatbot.state import ChatState
from ui.trace_view import TraceView


def mask(key: str) -> str:
    """`sk-…WXYZ`: enough to recognise a key, never enough to use it."""
    key = key.strip()
    if len(key) <= 8:
        return "•" * len(key)
    return f"{key[:3]}…{key[-4:]}"


@dataclass
class SessionSettings:
    """What the Settings tab holds for this session (keys are per session only, never written)."""

    keys: dict[str, str] = field(default_factory=dict)
    default_model: str = ""
    mlflow: bool = False
    secrets: dict[str, str] = field(default_factory=dict)  # named secrets for http tools: name -> value

    def __repr__(self) -> str:
        masked = {k: mask(v) for k, v in self.keys.items()}
        named = {k: mask(v) for k, v in self.secrets.items()}
        return (f"SessionSettings(keys={masked}, secrets={named}, "
                f"default_model={self.default_model!r}, mlflow={self.mlflow})")


_ANONYMOUS = re.compile(r"anon-[0-9a-f]{32}")


def new_owner() -> str:
    return "anon-" + secrets.token_hex(16)


@dataclass
class Session:
    """Everything one browser session owns: chat, draft, settings, its current trace."""

    owner: str = field(default_factory=new_owner)
    chat: ChatState = field(default_factory=ChatState)
    settings: SessionSettings = field(default_factory=SessionSettings)
    trace: TraceView = field(default_factory=TraceView)
    user: str | None = None  # the signed-in user, when the host provides one
    hf_signed_in: bool = False  # `user` comes from Hugging Face sign-in (OAuth on a Space)
    hf_token: str = field(default="", repr=False)  # that visitor's access token (never shown, never stored)
    uploads: dict[str, Any] = field(default_factory=dict)  # file input name -> its upload (name, text)
    run_form: tuple[str, ...] = ()  # the Run form's slots as last shown: (workflow, input, kind) keys

    @property
    def owner_id(self) -> str:
        """Whose runs these are: the signed-in user when there is one, else this session."""
        if not self.user:
            return self.owner
        return f"hf:{self.user}" if self.hf_signed_in else f"user:{self.user}"


def new_session() -> Session:
    """Factory for `gr.State`: called once per browser session."""
    return Session()


def hf_sign_in(request: Any) -> tuple[str, str] | None:
    """`(user name, access token)` from Hugging Face OAuth (Gradio's signed session cookie), or None
    when the visitor is not signed in or the sign-in has expired."""
    try:
        info = request.session.get("oauth_info") or {}
    except (AttributeError, AssertionError, KeyError):  # no session middleware: not signed in
        return None
    expires = info.get("expires_at")
    if isinstance(expires, int | float) and expires < time.time():
        return None
    name = (info.get("userinfo") or {}).get("preferred_username")
    return (str(name), str(info.get("access_token") or "")) if name else None


def signed_in_user(request: Any) -> str | None:
    """The user name from `auth=` (`request.username`) or Hugging Face OAuth (the session cookie)."""
    if request is None:
        return None
    name = getattr(request, "username", None)
    if name:
        return str(name)
    signed = hf_sign_in(request)
    return signed[0] if signed else None


def adopt_browser_owner(session: Session, stored: Any) -> str:
    """Take the anonymous owner id this browser kept, when it has a well-formed one; return the id
    the browser should keep (anything else it sends, e.g. `user:...`, is ignored)."""
    if isinstance(stored, str) and _ANONYMOUS.fullmatch(stored):
        session.owner = stored
    return session.owner


def adopt_user(session: Session, request: Any) -> Session:
    """Record the signed-in user, if any: their runs then follow them across browser sessions."""
    if request is None:
        return session
    name = getattr(request, "username", None)
    if name:
        session.user, session.hf_signed_in, session.hf_token = str(name), False, ""
        return session
    signed = hf_sign_in(request)
    if signed:
        session.user, session.hf_token = signed
        session.hf_signed_in = True
    return session
