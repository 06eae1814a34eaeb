"""Helpers of the cluster execution tests: real `graphwright worker` processes and an app-side executor.

A `Cluster` is one test's slice of the cluster: its own task queue on the session's Temporal server
(so tests never take each other's work), its own database on the session's Postgres, its own data
dir, and the worker processes it started (each killed at the end), forked with the test's environment
from the session's `Zygote` (a warm process: a worker polls in a second instead of importing for many).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEST_KEY = "sk-test-cluster-0123456789abcdef"
TWO_STEPS = """
version: 1
name: two-steps
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: one}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
"""  # a workflow of two model calls, the second quoting the first
APPROVAL = """  # a model call, an approval, a model call
version: 1
name: approve-me
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: draft, type: agent, agent: w, prompt: draft}
  - {id: check, type: approval, message: 'Publish {{ steps.draft.output }}?'}
  - {id: publish, type: agent, agent: w, prompt: 'publish {{ steps.draft.output }}'}
"""  # a model call, an approval, a model call


@dataclass
class Cluster:
    address: str
    dsn: str
    data_dir: Path
    llm_base_url: str
    task_queue: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:10]}")
    zygote: Zygote | None = None  # None: each worker a process of its own (`guarded_worker.py`)
    workers: list[Any] = field(default_factory=list)  # `Forked` from the zygote, or `subprocess.Popen`s
    extra_env: dict[str, str] = field(default_factory=dict)
    heartbeat_timeout_s: float = 10.0

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_") and not k.endswith("_API_KEY")}
        return {**keep, "GRAPHWRIGHT_TEMPORAL_ADDRESS": self.address, "GRAPHWRIGHT_TEMPORAL_TASK_QUEUE": self.task_queue,
                "GRAPHWRIGHT_POSTGRES_DSN": self.dsn, "GRAPHWRIGHT_DATA_DIR": str(self.data_dir),
                "OPENAI_API_KEY": TEST_KEY, "GRAPHWRIGHT_OPENAI_API_BASE": self.llm_base_url,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9", "GRAPHWRIGHT_OFFLINE_TOKEN_DELAY": "0",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONUNBUFFERED": "1",
                "GRAPHWRIGHT_HEARTBEAT_TIMEOUT_S": str(self.heartbeat_timeout_s), **self.extra_env}

    def start_worker(self, *args: str) -> subprocess.Popen[str]:
        """A worker process (with the tests' network guard), once Temporal sees it polling."""
        return self.start_workers(1, *args)[0]

    def start_workers(self, count: int, *args: str) -> list[subprocess.Popen[str]]:
        """`count` workers started at once (imports are slow on a loaded machine), once all of them poll."""
        first = len(self.workers)
        for _ in range(count):
            self.spawn_worker(*args)
        for index in range(first, first + count):
            self.wait_until_polling(index)
        return self.workers[first:]

    def spawn_worker(self, *args: str) -> int:
        """Start a worker process without waiting for it to poll (forked from the zygote if there is one)."""
        index = len(self.workers)
        path = self.data_dir.parent / f"worker-{index}.log"
        if self.zygote is not None:
            self.workers.append(self.zygote.fork(path, list(args), self.env()))
            return index
        log = open(path, "w")  # noqa: SIM115
        self.workers.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "guarded_worker.py"), *args], cwd=ROOT, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, text=True))
        log.close()
        return index

    def open_segments(self, index: int) -> int:
        """Segments the worker started and has not ended (from its log): what a kill would cut."""
        text = (self.data_dir.parent / f"worker-{index}.log").read_text(errors="replace")
        return text.count(" started (attempt ") - text.count(" ended: ")

    def worker_log(self, index: int) -> str:
        return (self.data_dir.parent / f"worker-{index}.log").read_text(errors="replace")[-4000:]

    def polling_pids(self) -> set[int]:
        from cluster.health import live_workers

        return {int(w.identity.rsplit(":", 1)[1]) for w in asyncio.run(live_workers(self.settings()))}

    def wait_until_polling(self, index: int, timeout: float = 240.0) -> None:
        """(A loaded machine imports slowly: minutes, not seconds, is the honest bound.)"""
        worker, deadline = self.workers[index], time.monotonic() + timeout
        while worker.pid not in self.polling_pids():
            assert worker.poll() is None, self.worker_log(index)
            assert time.monotonic() < deadline, f"worker {index} did not poll: {self.worker_log(index)}"
            time.sleep(0.3)

    def settings(self) -> Any:
        from cluster.temporal_client import TemporalSettings

        return TemporalSettings(self.address, task_queue=self.task_queue, heartbeat_timeout_s=self.heartbeat_timeout_s)

    def deployment(self) -> Any:
        from orchestrator.deployment import Deployment

        return Deployment(postgres_dsn=self.dsn, temporal_address=self.address, task_queue=self.task_queue)

    def app_engine(self, credentials: Any, policy: Any) -> Any:
        """An app replica's engine: run records in the cluster's Postgres (no history sink of its own)."""
        from orchestrator.runner import Engine

        return Engine(data_dir=self.data_dir, credentials=credentials, policy=policy, deployment=self.deployment())

    def executor(self, engine: Any) -> Any:
        from cluster.executor import ClusterExecutor, ClusterRuntime

        return ClusterExecutor(engine, ClusterRuntime(self.settings(), self.dsn))

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)


class Zygote:
    """`worker_zygote.py`, started once: `fork` gives a worker process running with the given environment."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_") and not k.endswith("_API_KEY")}
        env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).parent / "worker_zygote.py")], cwd=ROOT,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lock = threading.Lock()
        self._ready = False  # it imports while PostgreSQL and Temporal start: the first fork waits for it

    def fork(self, log: Path, args: list[str], env: dict[str, str]) -> Forked:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:
            if not self._ready:
                assert self.process.stdout.readline().strip() == "ready", "the worker zygote did not start"
                self._ready = True
            self.process.stdin.write(json.dumps({"log": str(log), "args": args, "env": env}) + "\n")
            self.process.stdin.flush()
            return Forked(int(self.process.stdout.readline()), Path(f"{log}.exit"))

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


@dataclass
class Forked:
    """A worker forked by the zygote (which reaps it): `Popen`'s few methods the tests use. Its exit code is
    the one it wrote on returning; killed by a signal, it wrote none (-SIGKILL stands for that)."""

    pid: int
    exit_file: Path

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return int(self.exit_file.read_text()) if self.exit_file.exists() else -signal.SIGKILL
        return None

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout or 60.0)
        while (code := self.poll()) is None:
            assert time.monotonic() < deadline, f"worker {self.pid} did not exit"
            time.sleep(0.02)
        return code


async def drain(stream: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in stream]


def app_executor(cluster: Cluster) -> Any:
    """An app replica's executor with the test key (the models are the loopback server)."""
    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy

    credentials = Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": cluster.llm_base_url})
    return cluster.executor(cluster.app_engine(credentials, Policy()))


def run_tag(text: str) -> str:
    """The run's tag (`s12`) in a prompt of the soak workflow."""
    found = re.search(r"\bs\d+\b", text)
    return found.group(0) if found else ""


def history_totals(dsn: str) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """(status, tokens_in the run is charged, tokens_in of its non-superseded calls) per run, from history."""
    from history.backend import open_history
    from orchestrator.deployment import Deployment

    store = open_history(None, Deployment(postgres_dsn=dsn))
    try:
        cur = store.read_cursor()
        statuses = dict(cur.execute("SELECT run_id, status FROM runs").fetchall())
        charged = dict(cur.execute("SELECT run_id, tokens_in FROM runs").fetchall())
        calls = dict(cur.execute("SELECT run_id, sum(tokens_in) FROM llm_calls WHERE NOT superseded GROUP BY run_id"
                                 ).fetchall())
    finally:
        store.close()
    return statuses, charged, calls
