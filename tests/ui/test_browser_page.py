"""The page in headless Chromium: nothing lost on reload, errors in place, a phone-sized layout.

Same app and browser set-up as `test_browser.py` (its fixtures and helpers are reused); each test
opens its own browser context, which is a separate visitor with their own localStorage.
"""

from __future__ import annotations

import json
import re

import pytest

from testkit.replies import Reply
from tests.hardening.browser_steps import set_key
from tests.ui import test_browser as steps
from tests.ui.browser_storage import at_sight, decrypt, local_storage, reopen
from tests.ui.conftest import RunningApp
from tests.ui.test_browser import (
    CONFIG,
    SLOW,
    TEST_MODEL,
    _yaml,
    editor_text,
    expect,
    load_example,
    run_status,
    send,
    set_editor,
    shot,
    tab,
    use_model,
)
from ui.app import OWNER_STORAGE
from ui.kept_design import STORAGE_KEY, STORAGE_SECRET

pytestmark = pytest.mark.browser
browser, page = steps.browser, steps.page  # the same fixtures: one Chromium, one context per test
PHONE = {"width": 390, "height": 844}


def _guided_to_the_end(page: object) -> None:
    send(page, "1")
    for _ in range(20):
        last = page.locator("#design-chat .message").last.inner_text()
        if "Done" in last:
            return
        send(page, "skip" if "default: skip" in last else "yes")
    raise AssertionError("the guided form never finished")


# ---- errors people can act on ----------------------------------------------------------------------------
def test_a_guided_workflow_runs_on_the_first_click(page: object, llm_server) -> None:
    llm_server.script(Reply(text="Notes on tides."), Reply(text="A short brief on tides."))
    use_model(page, TEST_MODEL)
    tab(page, "Design")
    _guided_to_the_end(page)
    tab(page, "Run")
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    assert "How tides work" in str(llm_server.requests[0].messages), "the proposed sample input was used"


def test_a_refused_query_replaces_the_results_in_place(page: object) -> None:
    tab(page, "Analytics")
    page.get_by_text("SQL (read-only, your rows only)").click()
    page.locator("#an-sql-run").click()
    note = page.locator("#an-sql-note")
    expect(note).to_contain_text(re.compile(r"\d+ rows? · \d"))
    sql = page.locator("#an-sql .cm-content")
    sql.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("DELETE FROM runs")
    page.locator("#an-sql-run").click()
    expect(note).to_contain_text("The query did not run")
    expect(note).to_contain_text("only SELECT queries")
    expect(note).not_to_contain_text("rows in")
    page.wait_for_timeout(500)
    assert page.locator(".toast-body").count() == 0, "no toast that fades away"
    assert page.get_by_text("Error", exact=True).count() == 0, "no red badges over the panels"


def test_yaml_indentation_mistakes_are_named_on_their_line(page: object) -> None:
    set_editor(page, _yaml(CONFIG).replace("  writer:\n    role:", "  writer:\n  role:"))
    issues = page.locator("#yaml-issues")
    expect(issues).to_contain_text("wrong indentation")
    assert "mapping values are not allowed" not in issues.inner_text()


# ---- nothing lost on reload --------------------------------------------------------------------------------
def test_the_draft_and_the_chat_survive_a_reload(page: object, browser: object, ui_app: RunningApp) -> None:
    send(page, "review loop")
    send(page, "essay-checker")
    expect(page.locator("#yaml-editor")).to_contain_text("name: essay-checker")
    page.reload()  # at once: what shows is already kept
    expect(page.locator("#yaml-editor")).to_contain_text("name: essay-checker")
    chat = page.locator("#design-chat")
    expect(chat).to_contain_text("essay-checker")
    expect(chat).to_contain_text("Question 2 of")
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    send(page, "Essay title")  # the interview goes on where it was
    expect(page.locator("#yaml-editor")).to_contain_text("essay_title")

    other = browser.new_context(viewport={"width": 1400, "height": 1000})  # another visitor
    theirs = other.new_page()
    theirs.goto(ui_app.url)
    expect(theirs.locator("#design-chat")).to_contain_text("Guided mode")
    assert "essay-checker" not in theirs.locator("#yaml-editor").inner_text()
    other.close()


def test_a_reload_the_moment_something_shows_loses_nothing(page: object, ui_app: RunningApp) -> None:
    """F5 on the very frame that shows a chat turn, a hand edit's verdict or an example from the Run tab:
    the browser already holds it (nothing the page stores afterwards can count)."""
    send(page, "review loop")
    stored = at_sight(page, STORAGE_KEY, "#design-chat", "Question 2 of", lambda: send(page, "essay-checker"))
    page = reopen(page, ui_app.url, STORAGE_KEY, stored)
    expect(page.locator("#design-chat")).to_contain_text("Question 2 of")
    expect(page.locator("#yaml-editor")).to_contain_text("name: essay-checker")

    edited = editor_text(page).replace("steps:", "stepz:", 1)
    stored = at_sight(page, STORAGE_KEY, "#yaml-issues", "stepz", lambda: set_editor(page, edited))
    page = reopen(page, ui_app.url, STORAGE_KEY, stored)
    expect(page.locator("#yaml-editor")).to_contain_text("stepz:")

    tab(page, "Run")
    page.locator("#run-example-pick input").click()
    page.get_by_role("option", name="brief_writer").click()
    stored = at_sight(page, STORAGE_KEY, "#yaml-editor", "name: brief-writer",
                      lambda: page.locator("#run-load-example").click())
    page = reopen(page, ui_app.url, STORAGE_KEY, stored)
    expect(page.locator("#yaml-editor")).to_contain_text("name: brief-writer")
    page.close()


def test_a_reload_while_the_assistant_answers_keeps_the_question_and_the_mode(page: object, ui_app: RunningApp,
                                                                            llm_server) -> None:
    llm_server.script(Reply(text=" ".join(f"word{i}" for i in range(30)), tokens_per_second=30))
    use_model(page, TEST_MODEL)
    tab(page, "Design")
    page.get_by_label("Assistant (LLM)").check()
    page.locator("#chat-input textarea").fill("A workflow about tides")
    stored = at_sight(page, STORAGE_KEY, "#design-chat", "A workflow about tides",
                      lambda: page.locator("#chat-send").click())
    page = reopen(page, ui_app.url, STORAGE_KEY, stored)
    expect(page.locator("#design-chat")).to_contain_text("A workflow about tides")
    expect(page.get_by_label("Assistant (LLM)")).to_be_checked()  # the next message goes on with the assistant
    page.close()


def test_the_browser_keeps_no_key(page: object) -> None:
    """A visitor's key, typed in Settings and pasted into the chat and the editor, is never written to
    the browser's storage, not even encrypted: every write is recorded and opened."""
    key = "sk-proj-" + "Zq7Kw2Lm9Xv4Bn8Rt1Yp6Hs3" * 2
    page.evaluate("""() => { window.gwWrites = [];
      const write = Storage.prototype.setItem;
      Storage.prototype.setItem = function (k, v) { window.gwWrites.push([k, v]); return write.call(this, k, v); };
    }""")
    set_key(page, "openai", key)
    tab(page, "Design")
    send(page, f"use {key}")
    expect(page.locator("#design-chat")).to_contain_text("[key removed]")
    set_editor(page, _yaml(CONFIG).replace("steps:", f"# {key}\nsteps:"))
    expect(page.locator(".toast-body.warning")).to_contain_text("looks like an API key")
    expect(page.locator("#yaml-editor")).not_to_contain_text("Zq7Kw2Lm9Xv4")  # back to the draft that is kept

    secrets = {STORAGE_KEY: STORAGE_SECRET, OWNER_STORAGE[0]: OWNER_STORAGE[1]}
    stored = local_storage(page)
    assert set(stored) <= set(secrets), f"nothing else is kept: {sorted(stored)}"
    writes = page.evaluate("window.gwWrites")
    assert writes, "the page stored the turns"
    opened = [json.dumps(decrypt(v, secrets[k])) if k in secrets else v for k, v in writes]
    assert not [w for w in opened if key in w or "Zq7Kw2Lm9Xv4" in w]
    assert "chat-built" not in json.dumps(decrypt(stored[STORAGE_KEY], STORAGE_SECRET)), "the refused edit is not kept"


LABEL_CLEARS_THE_FIRST_MESSAGE = """() => {
  const label = document.querySelector("#design-chat [data-testid=block-label]").getBoundingClientRect();
  const first = document.querySelector("#design-chat .message").getBoundingClientRect();
  return label.bottom <= first.top;
}"""
SCROLL_CHAT_TO_END = """() => document.querySelectorAll("#design-chat *").forEach((el) => {
  if (el.scrollHeight > el.clientHeight + 4) el.scrollTop = el.scrollHeight;
})"""


def test_the_chat_opens_on_its_introduction(browser: object, ui_app: RunningApp) -> None:
    """Gradio scrolls the chat to its end whenever it renders, on a loaded machine many seconds after the
    page loaded: the chat still shows its introduction until the visitor acts, however late that scroll."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.clock.install()  # time runs as usual; the test moves it on past any hold the page keeps
    page.goto(ui_app.url)
    expect(page.get_by_text("Guided mode (no AI model configured)")).to_be_in_viewport()
    page.wait_for_function(LABEL_CLEARS_THE_FIRST_MESSAGE)

    page.clock.fast_forward(60_000)
    page.evaluate(SCROLL_CHAT_TO_END)  # what Gradio's autoscroll does on a late render
    page.wait_for_function(LABEL_CLEARS_THE_FIRST_MESSAGE, timeout=5_000)
    expect(page.get_by_text("Guided mode (no AI model configured)")).to_be_in_viewport()
    context.close()


def test_undo_stops_at_a_generated_draft_and_long_lines_wrap(page: object) -> None:
    load_example(page, "brief_writer")
    page.wait_for_function("() => (window.gwKept || '').includes('name: brief-writer')")
    editor = page.locator("#yaml-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# my note")
    expect(page.locator("#yaml-editor")).to_contain_text("# my note")
    for _ in range(4):  # past the own edit: the generated draft stays
        page.keyboard.press("Control+Z")
    page.wait_for_timeout(300)
    assert "name: brief-writer" in editor_text(page)
    assert "# my note" not in editor_text(page)

    set_editor(page, editor_text(page).replace("prompt: ", "prompt: " + "very long words " * 30, 1))
    assert page.locator("#yaml-editor .cm-content.cm-lineWrapping").count() == 1
    scroller = page.locator("#yaml-editor .cm-scroller")
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "no sideways scrolling"


# ---- phone --------------------------------------------------------------------------------------------------
def test_phone_layout(browser: object, ui_app: RunningApp, llm_server) -> None:
    context = browser.new_context(viewport=PHONE)
    phone = context.new_page()
    phone.goto(ui_app.url)
    expect(phone.locator("#design-chat")).to_contain_text("Guided mode")
    for name in ("Design", "Run", "Analytics", "Settings"):
        expect(phone.get_by_role("tab", name=name)).to_be_in_viewport()
    assert phone.get_by_role("button", name="More tabs").count() == 0 or not phone.get_by_role(
        "button", name="More tabs").is_visible()
    title = phone.locator(".gw-title").bounding_box()
    assert title["height"] < 48, "the title takes one line"
    box = phone.locator("#chat-input textarea").bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], "the message box is above the fold"
    shot(phone, "phone-design")

    llm_server.script(Reply(text="Tides rise and fall twice a day."))
    set_editor(phone, _yaml(CONFIG).replace(TEST_MODEL, "openai/test-model-with-a-rather-long-name"))
    phone.get_by_role("tab", name="Run").click()
    phone.locator("#run-start").click()
    expect(run_status(phone)).to_contain_text("finished", timeout=SLOW)
    expect(run_status(phone)).to_be_in_viewport()
    table = phone.locator("#run-timeline table")
    width = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert width[0] <= width[1] + 1, f"the trace table is cut off: {width}"
    model = phone.locator("#run-timeline td").filter(has_text="rather-long-name").first.bounding_box()
    assert model["x"] + model["width"] <= PHONE["width"], "the model column is visible"
    shot(phone, "phone-run")
    context.close()
