"""What a person does in the page, as small steps the hardening browser tests share."""

from __future__ import annotations

from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=30_000)  # a shared 2-core CI box can be slow
SLOW = 60_000  # ms: the first run imports LiteLLM and LangGraph on a busy 2-core box


def open_app(browser: Any, url: str) -> tuple[Any, Any]:
    """A fresh browser context (= a fresh Gradio session) with the app loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    expect(page.locator("#design-chat")).to_contain_text("Guided mode", timeout=SLOW)
    return context, page


def tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def use_model(page: Any, model: str) -> None:
    tab(page, "Settings")
    box = page.locator("#default-model input")
    box.fill(model)
    box.press("Enter")
    page.wait_for_timeout(300)


def set_key(page: Any, provider: str, key: str) -> None:
    tab(page, "Settings")
    page.locator("#key-provider input").click()
    page.get_by_role("option", name=provider).click()
    page.locator("#key-value input").fill(key)
    page.locator("#key-save").click()
    expect(page.locator("#key-status")).to_contain_text(provider)


def assistant_chat(page: Any, text: str) -> None:
    """Send `text` to the LLM assistant and wait until the turn is over."""
    tab(page, "Design")
    page.get_by_label("Assistant (LLM)").check()
    box = page.locator("#chat-input textarea")
    box.fill(text)
    page.locator("#chat-send").click()
    expect(box).to_have_value("", timeout=SLOW)
    page.wait_for_timeout(300)


def set_editor(page: Any, text: str) -> None:
    tab(page, "Design")
    editor = page.locator("#yaml-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    expect(page.locator("#yaml-issues")).to_contain_text("Valid", timeout=SLOW)  # a fresh app's first check imports


def run_config(page: Any, config: str, topic: str, until: str = "finished|failed") -> None:
    """Put `config` in the editor, run it from the Run tab, wait for a final status."""
    import re

    set_editor(page, config)
    tab(page, "Run")
    name = re.search(r"^name: (.+)$", config, re.M)
    if name:  # the form is rebuilt when the config arrives: fill it in only after that
        expect(page.locator("#run-preflight")).to_contain_text(name.group(1).strip("'\""), timeout=SLOW)
    expect(page.locator("#run-input-0")).to_be_visible()
    page.locator("#run-input-0 textarea").fill(topic)
    page.locator("#run-start").click()
    try:
        expect(page.locator("#run-status")).to_contain_text(re.compile(until), timeout=SLOW)
    except AssertionError as exc:
        toasts = page.locator(".toast-body, .toast-wrap").all_inner_texts()
        raise AssertionError(f"the run did not end ({toasts}): {exc}") from None
