"""The app in headless Chromium, the way a person uses it: design, edit, run, approve, stop, review.

One app and one browser per module (they are slow to start); each test opens its own browser
context, which is a separate Gradio session. Screenshots of each tab land in `docs/screenshots/`
(used by the README) and `test-artifacts/`.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.replies import Reply, ToolCallSpec
from tests.ui.conftest import RunningApp

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=30_000)  # a shared 2-core CI box can be slow

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEST_MODEL = "openai/test-model"
SLOW = 60_000  # ms: the first run imports LiteLLM and LangGraph

CONFIG = {
    "version": 1,
    "name": "chat-built",
    "inputs": {"topic": {"type": "string", "default": "tides"}},
    "agents": {"writer": {"role": "Writer", "model": TEST_MODEL}},
    "steps": [{"id": "write", "type": "agent", "agent": "writer", "prompt": "Write about {{ inputs.topic }}"}],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh installs it)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, ui_app: RunningApp) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(ui_app.url)
    expect(page.locator("#design-chat")).to_contain_text("Guided mode")
    yield page
    context.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    shutil.copy(SHOTS / f"{name}.png", ARTIFACTS / f"{name}.png")


def send(page: object, text: str) -> None:
    """Send a chat message and wait for the answer (the input box is cleared when it arrives)."""
    box = page.locator("#chat-input textarea")
    box.fill(text)
    page.locator("#chat-send").click()
    expect(box).to_have_value("", timeout=SLOW)


def tab(page: object, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def set_editor(page: object, text: str) -> None:
    editor = page.locator("#yaml-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def editor_text(page: object) -> str:
    return page.locator("#yaml-editor .cm-content").inner_text()


def load_example(page: object, name: str) -> None:
    page.locator("#example-pick input").click()
    page.get_by_role("option", name=name).click()
    page.locator("#load-example").click()
    expect(page.locator("#yaml-editor")).to_contain_text(f"name: {name.replace('_', '-')}")


def use_model(page: object, model: str) -> None:
    tab(page, "Settings")
    box = page.locator("#default-model input")
    box.fill(model)
    box.press("Enter")
    page.wait_for_timeout(300)


def run_status(page: object) -> object:
    return page.locator("#run-status")


# ---- Design -----------------------------------------------------------------------------------------
def test_guided_interview_builds_a_config(page: object) -> None:
    send(page, "1")
    expect(page.locator("#design-chat")).to_contain_text("default:")
    for _ in range(20):
        last = page.locator("#design-chat .message").last.inner_text()
        if "Done" in last:
            break
        send(page, "skip" if "default: skip" in last else "yes")
    expect(page.locator("#design-chat")).to_contain_text("Done")
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    assert "version: 2" in editor_text(page)
    expect(page.locator("#diagram svg")).to_be_visible()
    shot(page, "design")


def test_llm_chat_builds_a_config(page: object, llm_server) -> None:
    llm_server.script(Reply(text="Here is a one-step writer.", tool_calls=[ToolCallSpec("set_config",
                                                                                         {"config": CONFIG})]))
    use_model(page, TEST_MODEL)
    tab(page, "Design")
    page.get_by_label("Assistant (LLM)").check()
    send(page, "A workflow that writes about a topic")
    expect(page.locator("#design-chat")).to_contain_text("Here is a one-step writer.", timeout=SLOW)
    expect(page.locator("#yaml-editor")).to_contain_text("name: chat-built")
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    assert llm_server.requests[0].model == "test-model"


def test_fixing_an_error_in_the_editor(page: object) -> None:
    load_example(page, "brief_writer")
    text = editor_text(page)
    set_editor(page, text.replace("steps:", "stepz:", 1))
    issues = page.locator("#yaml-issues")
    expect(issues).to_contain_text("problem")
    expect(issues).to_contain_text(re.compile(r"line \d+, col 1"))
    expect(issues).to_contain_text("stepz")
    set_editor(page, text)
    expect(issues).to_contain_text("Valid")


# ---- Run ----------------------------------------------------------------------------------------------
def _prepare_run(page: object, example: str | None = None, config: str | None = None) -> None:
    if example:
        load_example(page, example)
    if config:
        set_editor(page, config)
        expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    tab(page, "Run")


def test_run_streams_steps_and_tokens(page: object, llm_server) -> None:
    words = " ".join(f"word{i}" for i in range(120))
    llm_server.script(Reply(text=words, tokens_per_second=150))
    _prepare_run(page, config=_yaml(CONFIG))
    expect(page.locator("#run-input-0")).to_be_visible()
    page.locator("#run-input-0 textarea").fill("the sea")
    page.locator("#run-start").click()
    current = page.locator("#run-current textarea")
    expect(current).to_have_value(re.compile(r"word1\b"), timeout=SLOW)
    partial = current.input_value()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    assert "word119" not in partial, "the text should appear while it streams, not only at the end"
    assert current.input_value().split() == words.split()
    expect(page.locator("#run-timeline")).to_contain_text("write")
    expect(page.locator("#run-timeline")).to_contain_text("ok")
    assert "the sea" in str(llm_server.requests[-1].messages)
    shot(page, "run")


def test_approval_step_is_approved_inline(page: object) -> None:
    _prepare_run(page, example="human_approval")
    page.locator("#run-start").click()
    box = page.locator("#approval-box").first
    expect(box).to_contain_text("sign_off", timeout=SLOW)
    page.locator("#approval-feedback textarea").fill("Add a smiley")
    page.locator("#approve").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    expect(page.locator("#approve")).to_be_hidden()
    expect(page.locator("#run-timeline")).to_contain_text("final")


def test_a_paused_run_is_still_yours_after_a_reload(page: object, browser: object, ui_app: RunningApp) -> None:
    """Anonymous, no sign-in: the browser keeps the owner id, so a reload loses no run, and the paused
    run waits at the top of the Run tab with its buttons right there."""
    _prepare_run(page, example="human_approval")
    page.locator("#run-start").click()
    expect(page.locator("#approval-box").first).to_contain_text("sign_off", timeout=SLOW)
    ui_app.services.history.flush()
    page.reload()
    expect(page.locator("#design-chat")).to_contain_text("Guided mode")
    tab(page, "Run")
    paused = page.locator("#run-paused").first
    expect(paused).to_be_visible()  # not hidden in a collapsed section
    expect(page.locator("#run-resumable input")).to_have_value(re.compile("human-approval"))  # filled on load
    expect(page.locator("#run-resumable input")).to_have_value(re.compile("waiting for approval"))
    page.locator("#paused-approve").click()  # approve straight from the list
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    timeline = page.locator("#run-timeline")
    expect(timeline.locator("tr[data-status=ok]").filter(has_text="sign_off")).to_have_count(1)
    assert timeline.locator("tr[data-status=waiting]").count() == 0
    assert run_status(page).inner_text().count("offline model") <= 1  # the warning is not repeated
    expect(paused).to_be_hidden()  # nothing left to resume

    other = browser.new_context(viewport={"width": 1400, "height": 1000})  # another person
    theirs = other.new_page()
    theirs.goto(ui_app.url)
    theirs.get_by_role("tab", name="Run").click()
    theirs.wait_for_timeout(1000)
    expect(theirs.locator("#run-paused").first).to_be_hidden()
    other.close()


def test_stop_cancels_a_streaming_run(page: object, llm_server) -> None:
    going_on = threading.Event()  # the stream holds after a few words until Stop has been seen: a loaded
    llm_server.script(Reply(text=" ".join(["slow"] * 400), tokens_per_second=200, hold=going_on, held_after=5))
    try:  # machine may take longer to click Stop than a timed stream takes to end
        _prepare_run(page, config=_yaml(CONFIG))
        stop = page.locator("#run-stop")
        expect(stop).to_be_disabled()  # nothing runs yet
        page.locator("#run-start").click()
        expect(page.locator("#run-current textarea")).to_have_value(re.compile("slow"), timeout=SLOW)
        expect(stop).to_be_enabled()
        stop.click()
        expect(run_status(page)).to_contain_text("cancelled")
    finally:
        going_on.set()  # the model would go on: the page shows none of it
    timeline = page.locator("#run-timeline")
    expect(timeline.locator("tr[data-status=stopped]")).to_have_count(1)
    page.wait_for_timeout(500)
    assert len(page.locator("#run-current textarea").input_value().split()) <= 5
    assert timeline.locator("tr[data-status=running]").count() == 0
    expect(stop).to_be_disabled()
    expect(page.locator("#run-paused").first).to_be_visible()  # a stopped run can be resumed
    expect(page.locator("#run-resumable input")).to_have_value(re.compile("chat-built · stopped"))


def test_the_run_tab_tells_the_truth(page: object) -> None:
    """Examples load on the Run tab with their own input help; map items and an approval settle into
    one row each, nested and named; a refused run says why in the trace and next to the field."""
    tab(page, "Run")
    for name in ("http_lookup", "map_topics"):
        page.locator("#run-example-pick input").click()
        page.get_by_role("option", name=name).click()
        page.locator("#run-load-example").click()
        expect(page.locator("#run-preflight")).to_contain_text(name.replace("_", "-"))
    field = page.locator("#run-input-0")
    expect(field).to_contain_text("subject")
    assert "Wikipedia" not in field.inner_text()  # the help is the loaded config's, not the last one's
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    timeline = page.locator("#run-timeline")
    items = timeline.locator("tr[data-depth='1']")
    expect(items.first).to_contain_text("item 1")
    assert items.count() >= 2 and timeline.locator("tr[data-status=running]").count() == 0
    assert timeline.locator("tr[data-status=ok]").count() == items.count() + 3  # plan, sections, lesson
    shot(page, "run-map")

    page.locator("#run-example-pick input").click()
    page.get_by_role("option", name="human_approval").click()
    page.locator("#run-load-example").click()
    expect(page.locator("#run-preflight")).to_contain_text("human-approval")
    page.locator("#run-start").click()
    expect(page.locator("#approval-box").first).to_contain_text("sign_off", timeout=SLOW)
    page.locator("#approval-feedback textarea").fill("Too formal")
    page.locator("#reject").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    sign_off = timeline.locator("tr").filter(has_text="sign_off")
    expect(sign_off).to_have_count(1)
    expect(sign_off).to_have_attribute("data-status", "rejected")
    expect(sign_off).to_contain_text("rejected, the run continued")

    required = _yaml({**CONFIG, "inputs": {"topic": {"type": "string", "description": "What to write about."}}})
    tab(page, "Design")
    _prepare_run(page, config=required)
    expect(page.locator("#run-input-0")).to_contain_text("What to write about.")
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("Not started")
    expect(run_status(page)).to_contain_text("input 'topic' is required")
    expect(page.locator("#run-input-0")).to_contain_text("✗ required: fill it in")
    page.wait_for_timeout(1000)
    assert page.locator(".toast-body").count() == 0  # no toast, no error badges over the trace
    assert page.get_by_text("Error", exact=True).count() == 0


# ---- Analytics and isolation ------------------------------------------------------------------------------
def run_then_open_analytics(page: object, ui_app: RunningApp, llm_server: object, answer: str) -> object:
    """Run `CONFIG` (the model answers `answer`), then show all of the session's runs in Analytics."""
    llm_server.script(Reply(text=answer))
    _prepare_run(page, config=_yaml(CONFIG))
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    ui_app.services.history.flush()
    tab(page, "Analytics")
    page.locator("#an-span input").click()
    page.get_by_role("option", name="All time").click()
    page.locator("#an-refresh").click()
    return page.locator("#an-runs")


def test_analytics_lists_the_sessions_runs_and_replays_one(page: object, browser: object, ui_app: RunningApp,
                                                           llm_server) -> None:
    runs = run_then_open_analytics(page, ui_app, llm_server, "Replay me please.")
    expect(runs).to_contain_text("chat-built")
    expect(page.locator("#an-kpis")).to_contain_text("Runs")
    runs.locator("[role=gridcell]").filter(has_text="chat-built").first.click()
    expect(page.locator("#an-replay")).to_contain_text("write")
    expect(page.locator("#an-replay-output textarea")).to_have_value(re.compile("Replay me please"))
    shot(page, "analytics")

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    theirs = other.new_page()
    theirs.goto(ui_app.url)
    theirs.get_by_role("tab", name="Analytics").click()
    theirs.locator("#an-refresh").click()
    expect(theirs.locator("#an-kpis")).to_contain_text("Runs")
    theirs.wait_for_timeout(500)
    assert "chat-built" not in theirs.locator("#an-runs").inner_text()
    other.close()


def test_settings_keys_stay_in_their_session(page: object, browser: object, ui_app: RunningApp) -> None:
    tab(page, "Settings")
    key = "sk-browser-secret-0123456789WXYZ"
    page.locator("#key-provider input").click()
    page.get_by_role("option", name="anthropic").click()
    page.locator("#key-value input").fill(key)
    page.locator("#key-save").click()
    status = page.locator("#key-status")
    expect(status).to_contain_text("anthropic")
    expect(status).to_contain_text("sk-…WXYZ")
    assert key not in page.content()
    quotas = page.locator("#quota-status")
    expect(quotas).to_contain_text("Your quotas (anonymous visitor)")
    expect(quotas).to_contain_text("runs per hour: 0 of 10 used, 10 left")
    shot(page, "settings")

    other = browser.new_context()
    theirs = other.new_page()
    theirs.goto(ui_app.url)
    theirs.get_by_role("tab", name="Settings").click()
    expect(theirs.locator("#key-status")).to_be_visible()
    assert "anthropic" not in theirs.locator("#key-status").inner_text()
    other.close()


def _yaml(config: dict) -> str:
    import json

    from schemas import load_workflow, to_yaml

    return to_yaml(load_workflow(json.dumps(config)))


HOSTILE = '<img src=x onerror="window.__pwned=1"> ${7*6} {{7*6}} ![t](http://127.0.0.1:9/pixel.png)'


def test_model_text_cannot_run_script_or_load_anything(page: object, llm_server) -> None:
    llm_server.script(Reply(text=HOSTILE))
    use_model(page, TEST_MODEL)
    tab(page, "Design")
    page.get_by_label("Assistant (LLM)").check()
    send(page, "Say something")
    chat = page.locator("#design-chat")
    expect(chat).to_contain_text('<img src=x onerror="window.__pwned=1">')  # shown as text
    expect(chat).to_contain_text("![t](")
    assert chat.locator("img[src='x'], img[src*='pixel']").count() == 0

    llm_server.script(Reply(fault="bad_request", message=HOSTILE), Reply(fault="bad_request", message=HOSTILE),
                      Reply(fault="bad_request", message=HOSTILE))
    _prepare_run(page, config=_yaml(CONFIG))
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("failed", timeout=SLOW)
    timeline = page.locator("#run-timeline")
    expect(timeline).to_contain_text("write")
    assert timeline.locator("img").count() == 0 and "42" not in timeline.inner_text()
    assert page.evaluate("() => window.__pwned") is None
