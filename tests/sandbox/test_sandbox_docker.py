"""The `python` tool against the real dockerd: what code can and cannot do inside the sandbox.

Every test uses `make_tool`, which also checks that no sandbox container is left behind.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.sandbox import SandboxImageMissing, remove_stale_containers, run_python
from orchestrator.sandbox_limits import PIDS_LIMIT, SANDBOX_LABEL, SandboxLimits, cpu_seconds
from schemas.models import PythonTool

pytestmark = pytest.mark.docker

ToolFactory = Callable[..., PythonTool]


def test_a_computation_returns_its_output(make_tool: ToolFactory) -> None:
    code = "import json, sys\nprint(json.dumps({'squares': sum(i * i for i in range(10))}))\nprint('note', file=sys.stderr)"
    result = run_python(code, make_tool())
    assert result.ok
    assert json.loads(result.stdout) == {"squares": 285}
    assert result.stderr == "note\n"
    assert not (result.timed_out or result.oom_killed or result.truncated)
    assert "exit code 0" in result.to_tool_text() and '"squares": 285' in result.to_tool_text()


def test_a_failing_program_reports_its_exit_code_and_traceback(make_tool: ToolFactory) -> None:
    result = run_python("print('before')\n1 / 0", make_tool())
    assert result.exit_code == 1 and not result.ok
    assert result.stdout == "before\n"
    assert "ZeroDivisionError" in result.stderr
    assert "exit code 1" in result.to_tool_text()


def test_an_infinite_loop_is_killed_on_time(make_tool: ToolFactory) -> None:
    started = time.monotonic()
    result = run_python("print('spinning', flush=True)\nwhile True:\n    pass", make_tool(timeout=2))
    elapsed = time.monotonic() - started
    assert result.timed_out and not result.ok
    assert 2.0 <= result.duration_s < 6.0 and elapsed < 10.0
    assert result.stdout == "spinning\n"
    assert result.to_tool_text().startswith("timed out")


def test_memory_exhaustion_is_reported_as_an_oom_kill(make_tool: ToolFactory) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(b'x') * (8 << 20))"
    result = run_python(code, make_tool(memory_mb=64, timeout=20))
    assert result.oom_killed and not result.timed_out and not result.ok
    assert "out of memory" in result.to_tool_text()


def test_forking_stops_at_the_pids_limit(make_tool: ToolFactory) -> None:
    code = (
        "import os, time\n"
        "children = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        children += 1\n"
        "except OSError as exc:\n"
        "    print(children, type(exc).__name__)\n"
    )
    result = run_python(code, make_tool(timeout=10))
    children, error = result.stdout.split()
    assert 0 < int(children) < PIDS_LIMIT
    assert error == "BlockingIOError"
    assert result.exit_code == 0 and not result.timed_out


def test_a_fork_bomb_is_contained_and_cleaned_up(make_tool: ToolFactory) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = run_python(code, make_tool(timeout=2, cpus=0.5))
    assert result.timed_out
    assert result.duration_s < 10.0


def test_there_is_no_network(make_tool: ToolFactory) -> None:
    code = (
        "import socket\n"
        "print([name for _, name in socket.if_nameindex()])\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    result = run_python(code, make_tool())
    interfaces, outcome = result.stdout.splitlines()
    assert interfaces == "['lo']"
    assert outcome.startswith("refused")


def test_only_the_tmpfs_is_writable(make_tool: ToolFactory) -> None:
    code = (
        "import errno, os\n"
        "for path in ('/etc/evil', '/usr/lib/evil', '/evil', '/usr/bin/python3'):\n"
        "    try:\n"
        "        open(path, 'a').write('x')\n"
        "        print(path, 'written')\n"
        "    except OSError as exc:\n"
        "        print(path, errno.errorcode[exc.errno])\n"
        "open('/tmp/ok.txt', 'w').write('fine')\n"
        "print('/tmp', open('/tmp/ok.txt').read(), os.getcwd())\n"
    )
    result = run_python(code, make_tool())
    lines = result.stdout.splitlines()
    assert lines[-1] == "/tmp fine /tmp"
    for line in lines[:-1]:
        assert line.split()[1] in {"EROFS", "EACCES"}, line


def test_the_code_runs_as_nobody_without_capabilities(make_tool: ToolFactory) -> None:
    code = (
        "import os\n"
        "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "print(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), 0 in os.getgroups())\n"
        "import resource\n"
        "print(*resource.getrlimit(resource.RLIMIT_CPU))\n"
        "for key in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'):\n"
        "    print(key, status[key].strip())\n"
    )
    tool = make_tool()
    result = run_python(code, tool)
    lines = result.stdout.splitlines()
    assert lines[0] == "65534 65534 65534 65534 False"
    limit = cpu_seconds(SandboxLimits.from_tool(tool))
    assert lines[1] == f"{limit} {limit}"  # the kernel's deadline, should the app die mid-run
    caps = dict(line.split() for line in lines[2:])
    assert caps.pop("NoNewPrivs") == "1"
    assert set(caps.values()) == {"0000000000000000"}, caps


def test_output_over_the_cap_is_truncated_and_says_so(make_tool: ToolFactory) -> None:
    code = "import sys\nprint('a' * 5000)\nsys.stderr.write('b' * 300)"
    result = run_python(code, make_tool(max_output_bytes=1024))
    assert result.truncated and result.ok
    head, _, note = result.stdout.partition("\n[")
    assert head == "a" * 1024
    assert note.startswith("stdout truncated: kept the first 1024 bytes")
    assert result.stderr == "b" * 300
    assert "output truncated" in result.to_tool_text()


def test_a_flood_of_output_is_capped_and_stopped_on_time(make_tool: ToolFactory) -> None:
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n    sys.stderr.write('y' * 65536)"
    result = run_python(code, make_tool(max_output_bytes=2048, timeout=2))
    assert result.timed_out and result.truncated
    assert result.stdout.startswith("x" * 2048 + "\n[stdout truncated")
    assert result.stderr.startswith("y" * 2048 + "\n[stderr truncated")


def test_a_missing_image_is_not_pulled_and_says_how_to_get_it(make_tool: ToolFactory) -> None:
    tool = make_tool(image="graphwright-no-such-image:never")
    with pytest.raises(SandboxImageMissing) as caught:
        run_python("print(1)", tool)
    message = str(caught.value)
    assert "'graphwright-no-such-image:never'" in message
    assert "docker pull python:3.12-slim" in message and "scripts/build-sandbox-image.sh" in message


def test_a_callers_client_is_used_and_a_quiet_programs_output_still_arrives(make_tool: ToolFactory) -> None:
    import docker

    client = docker.from_env(timeout=1)  # a caller's client, shorter than the program's silence
    try:
        result = run_python(
            "import time\ntime.sleep(2.5)\nprint('done')", make_tool(timeout=8), docker_client=client
        )
    finally:
        client.close()
    assert result.ok and result.stdout == "done\n"


def test_stale_containers_are_swept_and_young_ones_kept(
    docker_client: Any, sandbox_image: str, no_leftovers: None
) -> None:
    key, value = "graphwright.test", uuid.uuid4().hex  # only this test's containers are swept
    labels = {SANDBOX_LABEL: "1", key: value}
    sleep = ["python3", "-c", "import time; time.sleep(60)"]
    docker_client.containers.run(sandbox_image, sleep, detach=True, labels=labels, network_mode="none")
    docker_client.containers.create(sandbox_image, ["python3", "-c", "pass"], labels=labels)
    mine = f"{key}={value}"

    assert remove_stale_containers(docker_client=docker_client, label=mine) == 0  # a run may still own them
    time.sleep(1.5)
    assert remove_stale_containers(docker_client=docker_client, max_age_s=1.0, label=mine) == 2
    assert docker_client.containers.list(all=True, filters={"label": mine}) == []
