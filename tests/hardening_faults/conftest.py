"""Fault-hardening fixtures: a counting HTTP server for tool side effects, and the fault report.

Each test adds its figures (runs attempted, faults injected, kills, failures found) with
`report.add("<test>", runs=..., ...)`; at the end of the session they are printed and written to
`test-artifacts/faults.json`, so the numbers in SECURITY.md come from a run anyone can repeat.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `from fault_child import ...`

from faults_testing import ROOT  # noqa: E402

ARTIFACT = ROOT / "test-artifacts" / "faults.json"


class FaultReport:
    """Figures per test, merged into `test-artifacts/faults.json` (other tests' entries are kept)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, name: str, **figures: Any) -> None:
        self.entries[name] = figures
        print(f"\n[faults] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))

    def write(self) -> None:
        if not self.entries:
            return
        ARTIFACT.parent.mkdir(exist_ok=True)
        try:
            old = json.loads(ARTIFACT.read_text())
        except (OSError, ValueError):
            old = {}
        old.update(self.entries)
        ARTIFACT.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def report() -> Iterator[FaultReport]:
    rep = FaultReport()
    yield rep
    rep.write()


class CountingServer:
    """A loopback HTTP server that counts every request per path (a tool's side effect)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        lock = threading.Lock()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with lock:
                    hits[self.path] += 1
                body = f"recorded {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def counter() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.close()
