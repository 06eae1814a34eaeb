"""Done-when for a Space (issue 16): the built Space folder, started as a process under a mocked
Space environment, serves "Sign in with Hugging Face"; a visitor signs in (Gradio's documented local
mock of OAuth, its Hub look-up answered by `testkit.hub_api`), claims the run they made before
signing in, runs a workflow on the loopback stand-in for Inference Providers with their own token,
and finds it all under their name; an anonymous visitor in another browser context sees none of it.
Then the process is killed mid-run and started again: history, the interrupted run and the quota
ledger are all still there, on the persistent disk (`GRAPHWRIGHT_PERSISTENT_DIR` stands for `/data`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spaces.build_space import build
from testkit.hub_api import HubApi
from testkit.llm_server import LLMServer
from testkit.replies import Reply
from tests.hardening.browser_steps import SLOW, expect, open_app, run_config, tab

pytestmark = pytest.mark.browser
OWNER_TOKEN = "hf_spaceOWNERcanary3e5a7c9e1b3d5f7a9c1e3b5d"
MOCK_VISITOR_TOKEN = "mock-oauth-token-for-local-dev"  # what Gradio's mock signs every visitor in with
NEEDLES = ("spaceOWNERcanary3e5a7c9e", MOCK_VISITOR_TOKEN)
CONFIG = """\
version: 1
name: space-visit
inputs:
  topic: {type: string}
agents:
  writer: {role: Writer}
steps:
  - {id: write, type: agent, agent: writer, prompt: "Write one line about {{ inputs.topic }}"}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpaceProcess:
    """`python app.py` in the built folder, as the Space runs it; its output goes to a log file."""

    def __init__(self, folder: Path, env: dict[str, str], log: Path) -> None:
        self.folder, self.env, self.log = folder, env, log
        self.url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=self.folder, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"the Space app did not start within 120 s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def router() -> Iterator[LLMServer]:
    """The loopback stand-in for the Inference Providers router (its own: the test kills the app mid-call)."""
    with LLMServer(default="echo") as server:
        yield server


@pytest.fixture
def space(tmp_path: Path, router: LLMServer) -> Iterator[SpaceProcess]:
    folder = build(tmp_path / "space")
    disk = tmp_path / "persistent"
    disk.mkdir()
    with HubApi(token=OWNER_TOKEN, user="ada") as hub:
        env = {k: v for k, v in os.environ.items() if k != "GRAPHWRIGHT_DATA_DIR"}
        env.update({
            "SPACE_ID": "owner/graphwright", "OAUTH_CLIENT_ID": "mock-client",  # no SYSTEM=spaces: Gradio mocks OAuth
            "HF_TOKEN": OWNER_TOKEN, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf-home"),
            "GRAPHWRIGHT_HUGGINGFACE_API_BASE": router.base_url, "GRAPHWRIGHT_PERSISTENT_DIR": str(disk),
            "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(_free_port()),
            "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp_path / "gradio-tmp"),
        })
        app = SpaceProcess(folder, env, tmp_path / "space.log")
        app.start()
        try:
            yield app
        finally:
            app.stop()


def _auth_of_last_call(router: LLMServer) -> str:
    return router.requests[-1].headers.get("Authorization", "")


def _runs_listed(page: Any) -> str:
    tab(page, "Analytics")
    page.locator("#an-span input").click()
    page.get_by_role("option", name="All time").click()
    page.locator("#an-refresh").click()
    expect(page.locator("#an-kpis")).to_contain_text("Runs")
    page.wait_for_timeout(800)
    return page.locator("#an-runs").inner_text()


def test_a_signed_in_visitor_runs_on_their_own_token_and_keeps_everything_across_a_restart(
        space: SpaceProcess, router: LLMServer, browser: Any, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{space.url}/gradio_api/info", timeout=10) as answer:
        public = set(json.load(answer)["named_endpoints"])
    assert not {name for name in public if "login" in name or "claim" in name}, public  # internal, not an API
    ours, page = open_app(browser, space.url)
    login = page.locator("#hf-login")
    expect(login).to_contain_text("Sign in with Hugging Face")
    expect(page.locator("#account-status")).to_contain_text("Not signed in")
    tab(page, "Settings")
    expect(page.locator("#key-status")).to_contain_text("the Space owner's token")

    run_config(page, CONFIG, "before signing in", until="finished")  # anonymous: the owner's token pays
    assert _auth_of_last_call(router) == f"Bearer {OWNER_TOKEN}"

    with page.expect_navigation(timeout=SLOW):  # Gradio's mock: /login/huggingface -> /login/callback -> back
        login.click()
    expect(page.locator("#design-chat")).to_contain_text("Guided mode", timeout=SLOW)
    expect(page.locator("#account-status")).to_contain_text("Signed in as ada", timeout=SLOW)
    expect(login).to_contain_text("Logout (ada)")
    expect(page.locator("#account-status")).to_contain_text("1 run(s) from before you signed in")
    page.locator("#claim-runs").click()
    expect(page.locator("#claim-runs")).to_be_hidden()
    expect(page.locator("#account-status")).not_to_contain_text("before you signed in")
    tab(page, "Settings")
    expect(page.locator("#key-status")).to_contain_text("your own Hugging Face account")

    run_config(page, CONFIG, "tides", until="finished")
    assert _auth_of_last_call(router) == f"Bearer {MOCK_VISITOR_TOKEN}"  # the visitor's token, not the owner's
    assert router.requests[-1].model == "Qwen/Qwen2.5-7B-Instruct"
    assert _runs_listed(page).count("space-visit") == 2  # the claimed run and this one

    theirs, other = open_app(browser, space.url)  # another visitor, anonymous, in another browser context
    expect(other.locator("#account-status")).to_contain_text("Not signed in")
    assert "space-visit" not in _runs_listed(other)
    expect(other.locator("#run-paused").first).to_be_hidden()
    assert "ada" not in other.locator("#an-runs").inner_text()

    router.script(Reply(text="never arrives", latency=300))  # the next call hangs: the app dies mid-run
    tab(page, "Design")
    run_config(page, CONFIG, "a run cut short", until="running")
    deadline = time.monotonic() + 60
    while router.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert router.in_flight == 1, "the run never reached the model"
    space.kill()
    page.close()  # an open page reloads itself once the app is back (Gradio's reconnect): a goto raced that
    space.start()

    page = ours.new_page()  # the same browser: still signed in
    page.set_default_timeout(30_000)
    page.goto(space.url)
    expect(page.locator("#account-status")).to_contain_text("Signed in as ada", timeout=SLOW)
    tab(page, "Run")
    expect(page.locator("#run-paused").first).to_be_visible(timeout=SLOW)
    expect(page.locator("#run-resumable input")).to_have_value(re.compile(r"space-visit · interrupted"))
    page.locator("#run-resume").click()  # it picks up where it was cut, on ada's token again
    expect(page.locator("#run-status")).to_contain_text("finished", timeout=SLOW)
    assert _auth_of_last_call(router) == f"Bearer {MOCK_VISITOR_TOKEN}"
    tab(page, "Settings")
    expect(page.locator("#quota-status")).to_contain_text("(signed-in visitor)")
    # the claimed run went on the owner's token (billed); the runs on ada's own token are not billed
    expect(page.locator("#quota-status")).to_contain_text("runs per hour: 1 of 60 used")
    assert _runs_listed(page).count("space-visit") == 3
    other.goto(space.url)
    assert "space-visit" not in _runs_listed(other)
    ours.close()
    theirs.close()
    space.stop()

    import duckdb

    con = duckdb.connect(str(Path(space.env["GRAPHWRIGHT_PERSISTENT_DIR"]) / "history.duckdb"), read_only=True)
    rows = sorted(con.execute("SELECT owner, status FROM runs").fetchall())
    con.close()
    assert rows == [("hf:ada", "finished")] * 3  # the interrupted run was resumed to the end
    leaks = [f"log: {n}" for n in NEEDLES if n in space.log.read_text()]
    for path in (p for p in Path(space.env["GRAPHWRIGHT_PERSISTENT_DIR"]).rglob("*") if p.is_file()):
        leaks += [f"{path.name}: {n}" for n in NEEDLES if n.encode() in path.read_bytes()]
    assert not leaks, leaks
