"""What a child process cost: wall time, CPU, peak memory; and the app's memory under concurrent runs.

Used by `bench/bench_cold.py` (figures) and by the memory tests (generous bounds), so both measure
the same way: a cold child process per measurement, its own rusage from `os.wait4` (peak RSS is
the kernel's high-water mark, not a sample), and for the app `/proc/<pid>/status`.

Linux carries a process's peak RSS across fork and exec: a child forked from a big parent (pytest
after a thousand tests: ~900 MB) reports at least the parent's size. So the measured command is
started by a tiny launcher (a fresh interpreter), whose own small size is all its child inherits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# argv: rusage file, then the command. Writes "returncode utime stime maxrss_kb" of the command alone.
_LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss}")
"""
TEN_STEPS = "".join([
    "version: 1\nname: ten-steps\ndefault_model: openai/gpt-4o-mini\nagents: {w: {role: Writer}}\nsteps:\n",
    *(f"  - {{id: s{i}, type: agent, agent: w, prompt: 'step {i}'}}\n" for i in range(10))])
"""The cold-run workflow of issue 18: ten sequential agent steps, one model call each."""
APP_WORKFLOW = """\
version: 1
name: app-load
inputs: {topic: {type: string}}
agents: {w: {role: Writer, model: openai/gpt-4o-mini}}
steps:
  - {id: one, type: agent, agent: w, prompt: 'one {{ inputs.topic }}'}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
"""


def app_run_args(i: int) -> tuple:
    """The app's `/run` arguments for run `i` of `APP_WORKFLOW`: config, model, allow, JSON inputs,
    8 input slots, 8 flags."""
    return (APP_WORKFLOW, "", False, "", f"topic {i}", *[""] * 7, *[False] * 8)


@dataclass(frozen=True)
class ChildCost:
    returncode: int
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float
    started: float  # time.time() at spawn, to compare with when a server saw its first request
    stdout: str
    stderr: str


def run_child(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300,
              cwd: Path = ROOT) -> ChildCost:
    """Run `args` to completion; its own wall time, CPU and peak RSS (not its siblings' or parent's)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path, usage_path = Path(tmp) / "out", Path(tmp) / "err", Path(tmp) / "usage"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started, t0 = time.time(), time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(usage_path), *args],
                                    cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
            wall = time.perf_counter() - t0
        fields = usage_path.read_text().split() if usage_path.exists() else ["-9", "0", "0", "0"]
        code, utime, stime, maxrss_kb = int(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
        return ChildCost(code, wall, utime + stime, maxrss_kb / 1024,
                         started, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a running process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class AppMemory:
    idle_rss_mb: float  # after start-up and warm-up, before any run
    after_first_run_mb: float  # one run done: the engine and LiteLLM are in
    peak_rss_mb: float  # high-water mark while serving `runs` runs from as many visitors at once
    runs_finished: int


def app_memory(env: dict[str, str], runs: int, run_args: Callable[[int], tuple] = app_run_args,
               settle_s: float = 8.0, timeout: float = 300) -> AppMemory:
    """Start `python app.py`, wait for warm-up, do one run, then `runs` at once (one visitor each)."""
    import httpx
    from gradio_client import Client

    port = free_port()
    env = {**env, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.perf_counter() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with code {proc.returncode}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError("the app served no page in time")
            time.sleep(0.1)
        time.sleep(settle_s)  # the warm-up thread imports the engine a second after the first page
        idle, _ = memory_mb(proc.pid)
        first = Client(url, verbose=False, httpx_kwargs={"timeout": timeout})
        first.predict(*run_args(0), api_name="/run")
        after_first, _ = memory_mb(proc.pid)
        clients = [Client(url, verbose=False, httpx_kwargs={"timeout": timeout}) for _ in range(runs)]
        with ThreadPoolExecutor(runs) as pool:
            results = list(pool.map(lambda ic: str(ic[1].predict(*run_args(ic[0] + 1), api_name="/run")[0]),
                                    enumerate(clients)))
        _, peak = memory_mb(proc.pid)
        return AppMemory(idle, after_first, peak, sum("finished" in r.lower() for r in results))
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a child, killing it when it does not exit within 20 s."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
