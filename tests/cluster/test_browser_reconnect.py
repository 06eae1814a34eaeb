"""A visitor whose run executes on a worker can leave one app replica and pick the run up on another.

Two real app processes (`python app.py` in cluster mode) stand behind a loopback proxy playing the
load balancer: the browser sees one origin, so its localStorage — where an anonymous visitor's id
lives — is the same whichever replica answers. The visitor starts a run whose second step streams
slowly, closes the page (replica A sees the visitor leave) and the balancer sends the next page to
replica B: the run has gone on, B shows its trace from the recorded events, then live to the end.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from testkit.replies import Reply
from testkit.tcp_proxy import TcpProxy
from tests.hardening.conftest import browser  # noqa: F401 - the fixture: Debian's chromium

pytestmark = [pytest.mark.cluster, pytest.mark.browser, pytest.mark.slow]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROOT = Path(__file__).resolve().parents[2]
SLOW = 90_000  # ms: a replica's first run imports LiteLLM on a loaded 2-core machine
CONFIG = """version: 1
name: reconnect
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: one}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
"""
LONG = " ".join(f"w{i}" for i in range(60))  # step two streams w0..w5, then holds until the test lets it go on
HELD_AFTER = 6


def _replies(hold: threading.Event) -> Any:
    """Step two is still going on while the visitor moves, however slowly a loaded machine loads the pages
    (a fixed-length stream raced them: the run could end before replica B showed it)."""

    def reply(req: Any) -> Reply:
        if req.messages[-1]["content"].startswith("two"):
            return Reply(text=LONG, chunk_delay=0.05, hold=hold, held_after=HELD_AFTER, hang_seconds=600)
        return Reply(text="first")

    return reply


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(cluster: Any, name: str) -> tuple[subprocess.Popen[str], int, Path]:
    port = _free_port()
    data = cluster.data_dir.parent / f"app-{name}"
    data.mkdir(exist_ok=True)
    env = {**cluster.env(), "GRAPHWRIGHT_DATA_DIR": str(data), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    path = cluster.data_dir.parent / f"app-{name}.log"
    with open(path, "w") as log:
        app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               text=True)
    return app, port, path


@pytest.fixture
def replicas(cluster: Any) -> Iterator[tuple[TcpProxy, int, Path]]:
    """Two `python app.py` processes in cluster mode and a worker, all started at once (each takes long
    on a loaded machine); (the balancer, pointed at replica A; replica B's port; where their logs are)."""
    started = [_launch(cluster, name) for name in ("a", "b")]
    try:
        with ThreadPoolExecutor(1) as aside:  # Playwright's sync API holds this thread's event loop
            aside.submit(cluster.start_worker).result()
        deadline = time.monotonic() + 400
        for app, _port, path in started:
            while "Running on local URL" not in path.read_text(errors="replace"):
                assert app.poll() is None and time.monotonic() < deadline, path.read_text()[-3000:]
                time.sleep(0.3)
        proxy = TcpProxy(started[0][1])
        yield proxy, started[1][1], cluster.data_dir.parent
        proxy.close()
    finally:
        for app, _port, _path in started:
            app.kill()
            app.wait(10)


def _open(context: Any, url: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    expect(page.locator("#design-chat")).to_contain_text("Guided mode", timeout=SLOW)
    return page


@pytest.mark.timeout(900)  # two app processes, a worker and Chromium on a shared 2-core machine
def test_a_run_started_on_one_replica_goes_on_and_shows_live_on_another(llm_server, replicas,
                                                                         browser) -> None:  # noqa: F811
    from tests.hardening.browser_steps import tab

    proxy, port_b, _logs = replicas
    hold = threading.Event()
    llm_server.set_default(_replies(hold))
    try:
        _leave_a_and_follow_on_b(browser, proxy, port_b, replicas[2], hold)
    finally:
        hold.set()

    stranger = browser.new_context(viewport={"width": 1400, "height": 1000})
    theirs = _open(stranger, proxy.url)  # another visitor on replica B
    tab(theirs, "Run")
    theirs.wait_for_timeout(3000)
    expect(theirs.locator("#run-timeline")).to_contain_text("No run yet")
    assert "w59" not in theirs.content()


def _leave_a_and_follow_on_b(chromium: Any, proxy: TcpProxy, port_b: int, logs: Path, hold: threading.Event) -> None:
    from tests.hardening.browser_steps import set_editor, tab

    visitor = chromium.new_context(viewport={"width": 1400, "height": 1000})
    on_a = _open(visitor, proxy.url)
    set_editor(on_a, CONFIG)
    tab(on_a, "Run")
    expect(on_a.locator("#run-preflight")).to_contain_text("reconnect", timeout=SLOW)
    on_a.locator("#run-start").click()
    expect(on_a.locator("#run-current textarea")).to_have_value(re.compile(r"w3\b"), timeout=SLOW)  # step two streams

    on_a.close()  # the visitor leaves replica A (a closed tab, a lost connection, a replica going away)
    proxy.switch(port_b)
    on_b = _open(visitor, proxy.url)
    tab(on_b, "Run")
    timeline = on_b.locator("#run-timeline")
    try:
        expect(timeline).to_contain_text("one", timeout=SLOW)  # from the recorded events...
    except AssertionError as exc:
        toasts = on_b.locator(".toast-body, .toast-wrap").all_inner_texts()
        log = (logs / "app-b.log").read_text(errors="replace")
        raise AssertionError(f"{exc}\ntoasts: {toasts}\nreplica B: {log[-3000:]}") from None
    expect(on_b.locator("#run-status")).to_contain_text("running")
    expect(on_b.locator("#run-current textarea")).to_have_value(re.compile(rf"w{HELD_AFTER - 1}$"))  # ...still going on,
    hold.set()
    expect(on_b.locator("#run-status")).to_contain_text("finished", timeout=SLOW)  # ...live to its end
    expect(on_b.locator("#run-output textarea")).to_have_value(re.compile(r"w0 .* w59$"))
    assert timeline.locator("tr[data-status=running]").count() == 0
    assert timeline.locator("tr[data-status=ok]").count() == 2
