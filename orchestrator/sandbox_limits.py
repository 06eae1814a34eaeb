"""The sandbox's limits and the exact container it asks Docker for.

Limits come from the tool's config, but every one is clamped to a hard ceiling here in code: a config
(even one built without validation) can only narrow the sandbox, never widen it. Everything that
makes the container hostile-code-safe is fixed here and not configurable at all.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemas.models import PythonTool

DEFAULT_IMAGE = "python:3.12-slim"
IMAGE_ENV = "GRAPHWRIGHT_SANDBOX_IMAGE"

# Hard ceilings, enforced whatever the config says.
MAX_TIMEOUT_S = 120.0
MAX_MEMORY_MB = 2048
MAX_CPUS = 2.0
MAX_OUTPUT_BYTES = 1_048_576
PIDS_LIMIT = 64  # processes + threads in the container; the ceiling the brief allows is 128
MAX_CODE_BYTES = 200_000  # passed on the command line: keep far below the kernel's argv limit
TMPFS_MB = 64  # the only writable place; its pages count against the memory limit too

SANDBOX_UID = 65534  # "nobody": unprivileged, exists (or not) in any image; numeric so no passwd lookup
SANDBOX_LABEL = "graphwright.sandbox"
RUN_LABEL = "graphwright.run"  # the run whose tool call started the container (`docker ps --filter label=...`)
WORKDIR = "/tmp"


@dataclass(frozen=True)
class SandboxLimits:
    """The limits one call runs under, already clamped to the ceilings."""

    timeout_s: float
    memory_mb: int
    cpus: float
    max_output_bytes: int
    pids: int = PIDS_LIMIT

    @classmethod
    def from_tool(cls, tool: PythonTool) -> SandboxLimits:
        return cls(
            timeout_s=max(0.1, min(float(tool.timeout), MAX_TIMEOUT_S)),
            memory_mb=max(32, min(int(tool.memory_mb), MAX_MEMORY_MB)),
            cpus=max(0.01, min(float(tool.cpus), MAX_CPUS)),
            max_output_bytes=max(1024, min(int(tool.max_output_bytes), MAX_OUTPUT_BYTES)),
        )


def resolve_image(tool: PythonTool, default_image: str | None = None) -> str:
    """The tool's own image, else the caller's default, else `GRAPHWRIGHT_SANDBOX_IMAGE`, else python:3.12-slim."""
    return tool.image or default_image or os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE


def container_options(limits: SandboxLimits) -> dict[str, Any]:
    """Keyword arguments for `containers.create`: no network, nothing writable but a small tmpfs,
    no root, no capabilities, no privilege gain, bounded processes/memory/CPU, no log on the host disk.

    Nothing from the host is mounted (no socket, no paths); output is read through `attach`, so the
    log driver is "none" and a flood of output cannot fill the host's disk.
    """
    from docker.types import LogConfig, Ulimit

    memory = f"{limits.memory_mb}m"
    tmpfs_mb = min(TMPFS_MB, limits.memory_mb // 2)
    uid = SANDBOX_UID
    return {
        "user": f"{uid}:{uid}",
        "network_disabled": True,
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {WORKDIR: f"rw,nosuid,nodev,noexec,size={tmpfs_mb}m,uid={uid},gid={uid},mode=0700"},
        "working_dir": WORKDIR,
        "environment": {"HOME": WORKDIR, "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": WORKDIR},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": limits.pids,
        "mem_limit": memory,
        "memswap_limit": memory,  # equal to mem_limit: no swap
        "nano_cpus": int(limits.cpus * 1e9),
        "ipc_mode": "private",
        "ulimits": [
            Ulimit(name="nofile", soft=256, hard=256),
            Ulimit(name="core", soft=0, hard=0),
            Ulimit(name="cpu", soft=cpu_seconds(limits), hard=cpu_seconds(limits)),
        ],
        "log_config": LogConfig(type="none"),
        "labels": {SANDBOX_LABEL: "1"},
    }


def cpu_seconds(limits: SandboxLimits) -> int:
    """RLIMIT_CPU per process: the kernel's own deadline, in case the app dies before it can kill.

    Our wall-clock kill normally comes first; this bounds a spinning orphan whose app was killed
    (the CPU quota lets a process use at most `cpus` seconds of CPU per second of wall time).
    """
    return math.ceil(limits.timeout_s * max(1.0, limits.cpus)) + 2


def command(code: str) -> list[str]:
    """`python3 -I -c CODE`: isolated mode ignores PYTHON* variables and the user site directory."""
    return ["python3", "-I", "-c", code]
