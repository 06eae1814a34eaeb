"""The `python` tool: runs code an agent wrote in a fresh, locked-down Docker container.

Code from a model is hostile until proven otherwise, so it never runs in the app's process: there is
no fallback to `exec`, RestrictedPython or a subprocess. Without a reachable Docker daemon the tool
fails closed with `SandboxUnavailable`. Each call gets its own container (see `sandbox_limits` for
what it may do), which is killed at the deadline and always removed.

Errors::

    SandboxError                  the tool could not run the code at all (a tool error for the agent)
    ├── SandboxUnavailable        no Docker daemon reachable: python tools cannot run on this machine
    ├── SandboxImageMissing       the image is not present; it is never pulled at run time
    ├── SandboxCodeRejected       the code cannot be passed to a container (too large, NUL bytes)
    └── SandboxCancelled          the run was stopped before the container could start

A program that fails, times out or runs out of memory is not an error: it is a `SandboxResult`.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.sandbox_limits import (
    DEFAULT_IMAGE,
    IMAGE_ENV,
    MAX_CODE_BYTES,
    MAX_TIMEOUT_S,
    RUN_LABEL,
    SANDBOX_LABEL,
    SandboxLimits,
    command,
    container_options,
    resolve_image,
)
from orchestrator.sandbox_output import OutputCollector
from orchestrator.sandbox_owner import OWNER_LABEL, Owner, current
from orchestrator.text import shorten

if TYPE_CHECKING:
    from docker import DockerClient

    from schemas.models import PythonTool

__all__ = [
    "DEFAULT_IMAGE",
    "IMAGE_ENV",
    "SandboxCall",
    "SandboxCancelled",
    "SandboxCodeRejected",
    "SandboxError",
    "SandboxImageMissing",
    "SandboxResult",
    "SandboxUnavailable",
    "docker_available",
    "remove_stale_containers",
    "run_python",
]

_KILL_GRACE_S = 10.0  # how long to wait for the daemon to confirm a kill
STALE_AFTER_S = MAX_TIMEOUT_S + 60.0  # no run lives longer: its deadline, the kill and clean-up
_API_TIMEOUT_S = 30.0  # per Docker API call; a busy daemon (say, mid-build) can be slow to create


class SandboxError(RuntimeError):
    """The `python` tool could not run the code at all."""


class SandboxUnavailable(SandboxError):
    """No Docker daemon is reachable, so python tools cannot run on this machine."""


class SandboxImageMissing(SandboxError):
    """The sandbox image is not on this machine; graphwright never pulls one at run time."""


class SandboxCodeRejected(SandboxError):
    """The code cannot be handed to a container."""


class SandboxCancelled(SandboxError):
    """The call was cancelled (its run was stopped) before or while its container ran."""


class SandboxCall:
    """One call's container, so that the thread stopping a run can kill it at once.

    The call runs in a worker thread that may sit in `container.wait` for the tool's whole timeout;
    `cancel()` (from any thread) removes the container, which ends that wait, and stops a container
    that was not created yet from ever starting.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._container: Any = None
        self.cancelled = False

    def attach(self, container: Any) -> None:
        with self._lock:
            self._container = container
            cancelled = self.cancelled
        if cancelled:
            raise SandboxCancelled("the run was stopped")

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            container = self._container
        if container is not None:
            _remove(container)


@dataclass(frozen=True)
class SandboxResult:
    """What one sandboxed run did; `to_tool_text()` is what the agent reads."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    oom_killed: bool
    truncated: bool
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.oom_killed)

    def to_tool_text(self) -> str:
        """Compact, labelled text: status first, then both streams (empty ones said so)."""
        if self.timed_out:
            status = f"timed out: killed after {self.duration_s:.1f} s (the time limit)"
        elif self.oom_killed:
            status = "killed: out of memory (the memory limit was reached)"
        else:
            status = f"exit code {self.exit_code} in {self.duration_s:.2f} s"
        parts = [status]
        if self.truncated:
            parts.append("output truncated: only the start of each long stream is kept")
        parts.append("stdout:\n" + (self.stdout.rstrip("\n") or "(empty)"))
        parts.append("stderr:\n" + (self.stderr.rstrip("\n") or "(empty)"))
        return "\n".join(parts)


def docker_available(timeout: float = 1.0) -> bool:
    """Whether a Docker daemon answers within `timeout` seconds (for warnings before a run)."""
    try:
        client = _connect(timeout)
    except SandboxUnavailable:
        return False
    client.close()
    return True


def remove_stale_containers(
    *, docker_client: DockerClient | None = None, max_age_s: float = STALE_AFTER_S, label: str | None = None
) -> int:
    """Remove sandbox containers no live run can own; returns how many were removed.

    A run removes its own container, but an app killed mid-run cannot: the app calls this at start
    and then periodically. A container whose owner label names a process that is gone is removed at
    once; one whose owner cannot be checked from here (another machine, no label) only once it is
    older than any run can last, so a concurrent run's container is never touched. `label` narrows
    the sweep to containers that also carry that label (`key` or `key=value`).
    """
    client = docker_client or _connect(timeout=3.0, api_timeout=_API_TIMEOUT_S)
    try:
        now = time.time()
        labels = [SANDBOX_LABEL] if label is None else [SANDBOX_LABEL, label]
        orphans = [  # sparse: no inspect per container, which would race with runs removing theirs
            c for c in client.containers.list(all=True, sparse=True, filters={"label": labels})
            if _orphaned((c.attrs.get("Labels") or {}).get(OWNER_LABEL),
                         now - _created_at(c.attrs.get("Created", "")), max_age_s)
        ]
        for container in orphans:
            _remove(container)
        return len(orphans)
    finally:
        if docker_client is None:
            client.close()


def _orphaned(owner_label: str | None, age_s: float, max_age_s: float) -> bool:
    owner = Owner.parse(owner_label)
    alive = owner.alive() if owner is not None else None
    if alive is None:
        return age_s > max_age_s
    return not alive


def _created_at(created: str | int) -> float:
    """Docker's creation time (epoch seconds in a listing, RFC 3339 when inspected); unreadable counts as new."""
    if isinstance(created, int | float):
        return float(created)
    match = re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", created)
    if not match:
        return time.time()
    return datetime.fromisoformat(match.group(0)).replace(tzinfo=UTC).timestamp()


def missing_images(workflow: Any, default_image: str | None = None, timeout: float = 1.0) -> list[str]:
    """Before a run: how to get each `python` tool's image that is not on this machine.

    Empty when every image is present, or when no daemon answers (that is warned about on its own).
    """
    images = sorted({resolve_image(t, default_image) for t in workflow.tools.values()
                     if getattr(t, "type", "") == "python"})
    if not images:
        return []  # before importing docker: most workflows run no code, and the import costs ≈0.1 s
    from docker.errors import DockerException, ImageNotFound

    try:
        client = _connect(timeout)
    except SandboxUnavailable:
        return []
    missing = []
    try:
        for image in images:
            try:
                client.images.get(image)
            except ImageNotFound:
                missing.append(_missing_image_message(image))
            except DockerException:
                continue
    finally:
        client.close()
    return missing


def run_python(
    code: str,
    tool: PythonTool,
    *,
    docker_client: DockerClient | None = None,
    default_image: str | None = None,
    call: SandboxCall | None = None,
    run_id: str = "",
) -> SandboxResult:
    """Run `code` with `python3 -c` in a fresh container under the tool's (clamped) limits.

    Blocking: the engine runs it in a worker thread, and `call.cancel()` from another thread kills
    it. Raises a `SandboxError` when the code could not be run at all; everything the program
    itself did comes back in the `SandboxResult`. `run_id` labels the container (`RUN_LABEL`).
    """
    _check_code(code)
    limits = SandboxLimits.from_tool(tool)
    image = resolve_image(tool, default_image)
    client = docker_client or _connect(timeout=3.0, api_timeout=_API_TIMEOUT_S)
    try:
        _require_image(client, image)
        return _run_container(client, image, code, limits, call or SandboxCall(), run_id)
    finally:
        if docker_client is None:
            client.close()


def _check_code(code: str) -> None:
    size = len(code.encode("utf-8", errors="surrogatepass"))
    if size > MAX_CODE_BYTES:
        raise SandboxCodeRejected(
            f"The code is {size} bytes; the `python` tool accepts at most {MAX_CODE_BYTES}. "
            "Send a shorter program."
        )
    if "\x00" in code:
        raise SandboxCodeRejected("The code contains a NUL character; remove it and try again.")


def _connect(timeout: float, api_timeout: float | None = None) -> DockerClient:
    """A client that answered a ping within `timeout`; later calls may take `api_timeout` each."""
    import docker

    try:
        client = docker.from_env(timeout=max(timeout, 0.1))
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the daemon means the same thing
        raise SandboxUnavailable(
            "`python` tools cannot run here: no Docker daemon is reachable "
            f"({type(exc).__name__}: {shorten(str(exc), 200)}). Code runs only in a throwaway Docker container, "
            "never in the app's own process; start Docker (or set DOCKER_HOST) to use them."
        ) from exc
    if api_timeout is not None:
        client.api.timeout = api_timeout
    return client


def _require_image(client: DockerClient, image: str) -> None:
    """Fail with the way to get `image` rather than letting Docker pull it silently."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        raise SandboxImageMissing(_missing_image_message(image)) from None


def _missing_image_message(image: str) -> str:
    return (
        f"The sandbox image '{image}' is not on this machine, and graphwright never pulls images at run "
        f"time. Get it with `docker pull {image}` (the default is `docker pull {DEFAULT_IMAGE}`; pin it by "
        "digest, e.g. `python:3.12-slim@sha256:...`, for repeatable runs), or build a small local one "
        "offline with `scripts/build-sandbox-image.sh` and point the tool's `image` or "
        f"`{IMAGE_ENV}` at its tag."
    )


def _run_container(client: DockerClient, image: str, code: str, limits: SandboxLimits,
                   call: SandboxCall, run_id: str = "") -> SandboxResult:
    from docker.errors import DockerException, ImageNotFound

    container = None
    options = container_options(limits)
    options["labels"] = {**options["labels"], OWNER_LABEL: current().label, **({RUN_LABEL: run_id} if run_id else {})}
    try:
        if call.cancelled:
            raise SandboxCancelled("the run was stopped")
        container = client.containers.create(image, command(code), **options)
        call.attach(container)
        stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
        output = OutputCollector(stream, limits.max_output_bytes)
        output.start()
        started = time.monotonic()
        container.start()
        timed_out = not _wait(container, limits.timeout_s)
        if timed_out:
            container.kill()
            _wait(container, _KILL_GRACE_S)
        duration = time.monotonic() - started
        output.join(timeout=5.0)
        container.reload()
        state: dict[str, Any] = container.attrs.get("State", {})
        return SandboxResult(
            exit_code=int(state.get("ExitCode", -1)),
            stdout=output.stdout(),
            stderr=output.stderr(),
            timed_out=timed_out,
            oom_killed=bool(state.get("OOMKilled")) and not timed_out,
            truncated=output.truncated,
            duration_s=round(duration, 3),
        )
    except ImageNotFound:
        raise SandboxImageMissing(_missing_image_message(image)) from None
    except DockerException as exc:
        if call.cancelled:
            raise SandboxCancelled("the run was stopped") from None
        raise SandboxError(f"Docker could not run the sandbox container: {shorten(str(exc), 300)}") from exc
    finally:
        if container is not None:
            _remove(container)


def _wait(container: Any, timeout: float) -> bool:
    """True when the container exited within `timeout`; the SDK signals a timeout as a connection error."""
    import requests

    try:
        container.wait(timeout=timeout)
    except requests.exceptions.RequestException:
        return False
    return True


def _remove(container: Any) -> None:
    from docker.errors import DockerException

    try:
        container.remove(force=True)
    except DockerException:
        pass  # already gone (or the daemon died with it)
