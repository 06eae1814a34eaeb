"""A loopback stand-in for the Hugging Face Hub's `whoami` (what Gradio's mocked sign-in asks).

Outside a real Space, Gradio mocks "Sign in with Hugging Face": it signs every visitor in as the
account that owns the machine's `HF_TOKEN`, which it looks up once at start-up with
`huggingface_hub.whoami()`. Pointing `HF_ENDPOINT` at this server makes that look-up answer
offline with the given user, and only for the given token.

    with HubApi(token="hf_...", user="ada") as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_...", "SPACE_ID": "owner/app", ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testkit.loopback_http import LoopbackHttp
from testkit.loopback_http import reply_json as _reply


@dataclass
class HubApi(LoopbackHttp):
    token: str
    user: str = "ada"
    fullname: str = "Ada Lovelace"
    paths: list[str] = field(default_factory=list)  # every path asked for
    _server: ThreadingHTTPServer | None = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.paths.append(handler.path)
        if not handler.path.startswith("/api/whoami"):
            return _reply(handler, 404, {"error": f"this stand-in only answers whoami, not {handler.path}"})
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return _reply(handler, 401, {"error": "Invalid credentials in Authorization header"})
        return _reply(handler, 200, {"type": "user", "name": self.user, "fullname": self.fullname,
                                     "avatarUrl": "", "orgs": [], "auth": {"type": "access_token"}})
