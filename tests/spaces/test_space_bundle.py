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

from spaces.build_space import MARKER, ROOT, build, front_matter


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


def test_front_matter_turns_on_sign_in_with_the_inference_scope(space: Path) -> None:
    meta = front_matter(space / "README.md")
    assert meta["hf_oauth"] == "true"
    head = (space / "README.md").read_text().split("---")[1]
    assert "hf_oauth_scopes:\n  - inference-api" in head


def test_the_space_readme_explains_running_it(space: Path) -> None:
    text = (space / "README.md").read_text()
    for topic in ("Duplicate this Space", "Sign in with Hugging Face", "HF_TOKEN", "GRAPHWRIGHT_HF_MODEL",
                  "Persistent storage", "/data", "Quotas", "GRAPHWRIGHT_QUOTA_"):
        assert topic in text, topic


def test_building_again_replaces_its_own_output_and_keeps_the_rest(tmp_path: Path) -> None:
    out = build(tmp_path / "space")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "ui" / "stale_module.py").write_text("# from an older build\n")
    build(out)
    assert (out / ".git" / "HEAD").is_file()
    assert not (out / "ui" / "stale_module.py").exists()
    assert (out / "app.py").is_file() and (out / MARKER).is_file()


def test_a_fresh_space_clone_is_built_into_and_anything_else_is_refused(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / ".gitattributes").write_text("*.bin filter=lfs\n")
    (clone / "README.md").write_text("---\ntitle: x\n---\n")
    build(clone)
    assert (clone / ".gitattributes").is_file() and front_matter(clone / "README.md")["sdk"] == "gradio"
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    with pytest.raises(SystemExit, match="not empty .*notes.txt.* choose a new or empty folder"):
        build(other)
    assert (other / "notes.txt").read_text() == "mine\n"
