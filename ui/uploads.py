"""Uploads on a public app: a byte budget per visitor, and files removed as soon as they are read.

Gradio's `/upload` route takes files from anyone, before any event says who they are, and keeps
them until its hourly cache sweep (1 MB uploads in a loop filled the disk at ~120 MB/s). So the
route is metered per client address over a rolling hour (`GRAPHWRIGHT_UPLOAD_MB_PER_HOUR`), and
every handler that opens an upload deletes it once read (`read_upload`).

Behind a proxy (a Hugging Face Space) every request comes from the proxy's address: the first
`X-Forwarded-For` hop names the visitor there. It is trusted only when `SPACE_ID` is set (Spaces)
or `GRAPHWRIGHT_TRUST_FORWARDED=1` (it is the client's own word otherwise).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
WINDOW_S = 3600.0


def upload_budget_bytes() -> int:
    return int(float(os.environ.get("GRAPHWRIGHT_UPLOAD_MB_PER_HOUR", "20")) * 1_000_000)


def read_upload(path: str | Path, max_chars: int) -> str:
    """The text of an uploaded file (at most `max_chars`), which is then deleted from the server."""
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            return handle.read(max_chars + 1)
    finally:
        file.unlink(missing_ok=True)


def _trust_forwarded() -> bool:
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("GRAPHWRIGHT_TRUST_FORWARDED", "") == "1"


def client_address(scope: Scope) -> str:
    if _trust_forwarded():
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class UploadMeter:
    """Bytes uploaded per client over a rolling window; `charge` refuses what would exceed the budget."""

    def __init__(self, budget_bytes: int, window_s: float = WINDOW_S) -> None:
        self.budget, self.window = budget_bytes, window_s
        self._lock = threading.Lock()
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def charge(self, client: str, size: int, now: float | None = None) -> str | None:
        """None when `size` bytes fit (and are counted), else why not, in the visitor's terms."""
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(client, deque())
            while seen and seen[0][0] <= now - self.window:
                seen.popleft()
            used = sum(n for _, n in seen)
            if used + size > self.budget:
                wait = int(seen[0][0] + self.window - now) + 1 if seen else int(self.window)
                return (f"upload limit reached: {self.budget / 1e6:g} MB per hour per visitor, "
                        f"{max(self.budget - used, 0) / 1e6:.1f} MB left; it frees up in {wait // 60 + 1} min")
            seen.append((now, size))
            return None


class UploadBudget:
    """ASGI middleware metering POSTs to Gradio's upload route (by their declared length)."""

    def __init__(self, app: ASGIApp, meter: UploadMeter | None = None) -> None:
        self.app = app
        self.meter = meter or UploadMeter(upload_budget_bytes())

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is None or not length.isdigit():
            await _refuse(send, 411, "uploads must declare their length")
            return
        refusal = self.meter.charge(client_address(scope), int(length))
        if refusal:
            await _refuse(send, 429, refusal)
            return
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
