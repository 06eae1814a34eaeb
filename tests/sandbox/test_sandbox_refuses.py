"""The sandbox fails closed, clamps every limit and describes results; none of this needs a daemon."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.sandbox import (
    SandboxCodeRejected,
    SandboxError,
    SandboxResult,
    SandboxUnavailable,
    docker_available,
    run_python,
)
from orchestrator.sandbox_limits import (
    DEFAULT_IMAGE,
    MAX_CPUS,
    MAX_MEMORY_MB,
    MAX_OUTPUT_BYTES,
    MAX_TIMEOUT_S,
    PIDS_LIMIT,
    SandboxLimits,
    container_options,
    resolve_image,
)
from schemas.models import PythonTool


@pytest.fixture
def no_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the Docker SDK at a socket that does not exist, as on a Hugging Face Space."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/graphwright-docker.sock")


def test_without_a_daemon_the_tool_refuses_and_nothing_runs_in_process(
    no_daemon: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[Any] = []
    real_popen = subprocess.Popen

    def spy(*args: Any, **kwargs: Any) -> Any:
        spawned.append(args)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('ran')"

    with pytest.raises(SandboxUnavailable) as caught:
        run_python(code, PythonTool(type="python"))

    assert "`python` tools cannot run here" in str(caught.value)
    assert "Docker daemon" in str(caught.value)
    assert isinstance(caught.value, SandboxError)
    assert not marker.exists() and spawned == []


def test_docker_available_says_no_quickly_without_a_daemon(no_daemon: None) -> None:
    assert docker_available(timeout=0.5) is False


def test_oversized_or_nul_code_is_rejected_before_docker_is_asked(no_daemon: None) -> None:
    with pytest.raises(SandboxCodeRejected, match="at most"):
        run_python("x = 1\n" * 100_000, PythonTool(type="python"))
    with pytest.raises(SandboxCodeRejected, match="NUL"):
        run_python("print('a\x00b')", PythonTool(type="python"))


def test_limits_come_from_the_config() -> None:
    tool = PythonTool(type="python", timeout=3, memory_mb=128, cpus=0.5, max_output_bytes=4096)
    assert SandboxLimits.from_tool(tool) == SandboxLimits(
        timeout_s=3.0, memory_mb=128, cpus=0.5, max_output_bytes=4096, pids=PIDS_LIMIT
    )


def test_hard_ceilings_hold_even_for_an_unvalidated_config() -> None:
    tool = PythonTool.model_construct(
        type="python", image=None, timeout=10_000, memory_mb=1_000_000, cpus=64, max_output_bytes=10**9
    )
    limits = SandboxLimits.from_tool(tool)
    assert limits.timeout_s == MAX_TIMEOUT_S <= 120
    assert limits.memory_mb == MAX_MEMORY_MB <= 2048
    assert limits.cpus == MAX_CPUS
    assert limits.max_output_bytes == MAX_OUTPUT_BYTES
    assert limits.pids <= 128


def test_the_container_is_locked_down_whatever_the_limits() -> None:
    options = container_options(SandboxLimits.from_tool(PythonTool(type="python", memory_mb=256, cpus=1.5)))
    assert options["network_disabled"] is True and options["network_mode"] == "none"
    assert options["read_only"] is True
    assert options["cap_drop"] == ["ALL"] and options["security_opt"] == ["no-new-privileges"]
    assert options["user"] == "65534:65534"
    assert options["mem_limit"] == options["memswap_limit"] == "256m"
    assert options["nano_cpus"] == 1_500_000_000 and options["pids_limit"] == PIDS_LIMIT
    assert list(options["tmpfs"]) == ["/tmp"] and "uid=65534" in options["tmpfs"]["/tmp"]
    assert {u["Name"]: u["Hard"] for u in options["ulimits"]} == {"nofile": 256, "core": 0, "cpu": 10 * 1.5 + 2}
    assert "volumes" not in options and "mounts" not in options and "privileged" not in options


def test_the_image_comes_from_the_tool_then_the_caller_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRAPHWRIGHT_SANDBOX_IMAGE", raising=False)
    bare = PythonTool(type="python")
    assert resolve_image(bare) == DEFAULT_IMAGE == "python:3.12-slim"
    monkeypatch.setenv("GRAPHWRIGHT_SANDBOX_IMAGE", "local/py:1")
    assert resolve_image(bare) == "local/py:1"
    assert resolve_image(bare, default_image="caller/py:2") == "caller/py:2"
    assert (
        resolve_image(PythonTool(type="python", image="own/py:3"), default_image="caller/py:2") == "own/py:3"
    )


def test_tool_text_leads_with_what_happened() -> None:
    fine = SandboxResult(0, "42\n", "", timed_out=False, oom_killed=False, truncated=False, duration_s=0.31)
    assert fine.to_tool_text() == "exit code 0 in 0.31 s\nstdout:\n42\nstderr:\n(empty)"
    slow = SandboxResult(137, "", "", timed_out=True, oom_killed=False, truncated=False, duration_s=3.02)
    assert slow.to_tool_text().splitlines()[0] == "timed out: killed after 3.0 s (the time limit)"
    hungry = SandboxResult(0, "", "", timed_out=False, oom_killed=True, truncated=False, duration_s=0.5)
    assert hungry.to_tool_text().startswith("killed: out of memory") and not hungry.ok
