"""The assembled Space folder is complete, matches the pins and launches on its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from spaces.build_space import ROOT, build, front_matter


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("space") / "graphwright")


def _pin(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.split("==", 1)[1]
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_front_matter_matches_the_pins(space: Path) -> None:
    meta = front_matter(space / "README.md")
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == _pin("gradio")
    assert meta["python_version"] == "3.11"
    assert meta["app_file"] == "app.py"
    assert (space / meta["app_file"]).is_file()


def test_bundle_holds_no_tests_or_test_servers(space: Path) -> None:
    assert not (space / "tests").exists()
    assert not (space / "testkit").exists()
    assert not list(space.rglob("__pycache__"))


def test_bundle_imports_only_its_own_code(space: Path) -> None:
    code = (
        "import app, schemas, orchestrator, history, chatbot, ui, sys\n"
        "mods = [m for n, m in list(sys.modules.items()) if n.split('.')[0] in "
        "{'app','schemas','orchestrator','history','chatbot','ui'} and getattr(m, '__file__', None)]\n"
        "print('\\n'.join(m.__file__ for m in mods))"
    )
    env = {**os.environ, "GRAPHWRIGHT_DATA_DIR": str(space / "data")}
    done = subprocess.run([sys.executable, "-c", code], cwd=space, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    files = [Path(p) for p in done.stdout.split()]
    assert files and all(p.is_relative_to(space) for p in files), files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_assembled_app_serves_its_front_page(space: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "GRAPHWRIGHT_DATA_DIR": str(tmp_path / "data"),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=space, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    assert page.status == 200
                    assert "gradio" in page.read().decode().lower()
                    return
            except OSError:
                time.sleep(0.5)
        pytest.fail("the assembled Space app did not serve its front page within 90 s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
