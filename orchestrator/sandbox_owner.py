"""Which app process owns a sandbox container, written on the container as a label.

A container outlives an app killed with kill -9 (nothing runs its clean-up). The label names the
owner precisely enough for a later sweep (this process or the next one) to tell whether the owner is
gone: the machine's boot id and PID namespace (where the pid means something), the pid, and the
process's start time (so a recycled pid is not mistaken for the owner).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

OWNER_LABEL = "graphwright.owner"


@dataclass(frozen=True)
class Owner:
    host: str  # boot id + PID namespace; a pid is only meaningful inside it
    pid: int
    started: str  # the process's start time in clock ticks since boot ("" when unknown)

    @property
    def label(self) -> str:
        return f"{self.host}/{self.pid}/{self.started}"

    @classmethod
    def parse(cls, label: str | None) -> Owner | None:
        """The owner a label names; None for a label this code did not write."""
        parts = (label or "").rsplit("/", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def alive(self) -> bool | None:
        """Whether the owning process still runs; None when it lives elsewhere (cannot tell from here)."""
        if self.host != _host_id():
            return None
        started = _start_ticks(self.pid)
        return started is not None and (not self.started or started == self.started)


def current() -> Owner:
    """This process, as owner (recomputed after a fork: the pid changes)."""
    pid = os.getpid()
    return Owner(_host_id(), pid, _start_ticks(pid) or "")


def _host_id() -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:  # not Linux: the host name is the best available
        return socket.gethostname().replace("/", "_")
    return f"{boot}.{namespace}"


def _start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time), or None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if not Path("/proc/self/stat").exists():  # no procfs: fall back to "does the pid exist"
            return _pid_exists(pid)
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""
