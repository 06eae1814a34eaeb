"""A loopback stand-in for an authenticated search API (Serper-shaped), for tests and offline demos.

It checks what a real API would: the key in the `X-API-KEY` header (or an `api_key` / `token`
query parameter), a JSON body with `Content-Type: application/json`, and answers with Serper's
`{"organic": [{"title", "link", "snippet"}]}` shape; `POST /content` with `{"url": ...}` answers
with the text of `pages[url]` (a browserless-style page fetcher). Every request is recorded so a test can check
exactly what was sent. `/redirect?to=URL` answers 302 (redirect tests); `/echo` sends the request's
headers back (a careless API that echoes the key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testkit.loopback_http import LoopbackHttp
from testkit.loopback_http import reply_json as _reply


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SearchApi(LoopbackHttp):
    """`with SearchApi(key) as api:` serves on 127.0.0.1; `api.url`, `api.requests`."""

    key: str
    results: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # query -> organic results
    pages: dict[str, str] = field(default_factory=dict)  # url -> page text, for `/content`
    requests: list[ApiRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        request = ApiRequest(handler.command, parts.path, query, dict(handler.headers.items()), body)
        self.requests.append(request)
        if parts.path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", query.get("to", "/"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if parts.path == "/echo":
            return _reply(handler, 200, {"you_sent": request.headers})
        if self.key not in (request.headers.get("X-API-KEY"), query.get("api_key"), query.get("token")):
            return _reply(handler, 403, {"message": "Unauthorized: missing or wrong API key"})
        if handler.command == "POST":
            if not request.headers.get("Content-Type", "").startswith("application/json"):
                return _reply(handler, 415, {"message": "send JSON with Content-Type: application/json"})
            wanted = request.json() or {}
        else:
            wanted = query
        if parts.path == "/content":
            page = self.pages.get(str(wanted.get("url")))
            return _reply(handler, 200 if page else 404, {"text": page or "no such page"})
        q = str(wanted.get("q", ""))
        organic = self.results.get(q, [{"title": f"About {q}", "link": "https://example.org/" + q.replace(" ", "-"),
                                        "snippet": f"A page about {q}."}])
        return _reply(handler, 200, {"searchParameters": {"q": q}, "organic": organic[: int(wanted.get("num", 10))]})

