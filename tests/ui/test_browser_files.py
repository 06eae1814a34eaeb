"""In Chromium: upload a file input on the Run tab, run, and download the artifact the run wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.replies import Reply
from tests.ui.test_browser import SLOW, browser, expect, page, run_status, set_editor, tab  # noqa: F401

pytestmark = pytest.mark.browser

CONFIG = """version: 2
name: files
inputs:
  sales: {type: file, format: csv, description: Sales rows.}
agents:
  writer: {role: Writer, model: openai/test-model}
steps:
  - id: report
    type: agent
    agent: writer
    prompt: "Report on {{ inputs.sales }}"
    artifact: {name: report.md}
"""


def test_upload_a_file_run_and_download_the_report(page: object, llm_server, tmp_path: Path) -> None:  # noqa: F811
    llm_server.script(Reply(text="# North leads"))
    set_editor(page, CONFIG)
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    tab(page, "Run")
    expect(page.locator("#run-file-0")).to_be_visible()
    sales = tmp_path / "sales.csv"
    sales.write_text("region,amount\nnorth,3\n")
    page.locator("#run-file-0 input[type=file]").set_input_files(str(sales))
    expect(page.locator("#run-file-0")).to_contain_text("sales.csv")
    page.wait_for_timeout(500)  # the upload reaches the session
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)
    expect(run_status(page)).to_contain_text("report.md")
    assert '"region":"north"' in llm_server.requests[-1].messages[-1]["content"]
    downloads = page.locator("#run-artifacts")
    expect(downloads).to_be_visible(timeout=SLOW)
    expect(downloads.get_by_role("row")).to_contain_text("13.0 B")  # "report.md", shown as "report .md"
    with page.expect_download() as info:
        downloads.get_by_role("link").click()
    assert Path(info.value.path()).read_text() == "# North leads"
