"""CrewAI's trip planner (crewAIInc/crewAI-examples, crews/trip_planner) translated to graphwright.

Its three agents use an authenticated search API (Serper: key in the `X-API-KEY` header), an
authenticated page fetcher (browserless: key in the `token` query parameter) and a calculator.
Offline, each API is a loopback stand-in that checks its own key; each secret is bound to its own
stand-in (by port), so the test also proves a key reaches only its API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from history import queries as q
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow
from schemas.models import Workflow
from testkit.search_api import SearchApi
from tests.orchestrator.scripted import Say, ScriptedClient

CONFIG = Path(__file__).with_name("trip_planner.yaml")
SERPER_KEY = "serper-loopback-3b9f2c7d1e"
BROWSERLESS_KEY = "browserless-loopback-6a4e8d0c2f"
KYOTO = "https://example.org/kyoto-april"


@pytest.fixture
def apis() -> Iterator[tuple[SearchApi, SearchApi]]:
    results = {"Kyoto vs Seoul weather April": [
        {"title": "Kyoto in April", "link": KYOTO, "snippet": "Cherry blossoms, 18°C, flights from 620 EUR."}]}
    with SearchApi(SERPER_KEY, results=results) as serper, \
            SearchApi(BROWSERLESS_KEY, pages={KYOTO: "Hanami at Maruyama Park; try yudofu near Nanzen-ji."}) as browser:
        yield serper, browser


def offline_config(serper: SearchApi, browser: SearchApi) -> Workflow:
    """The translated config with each API's host swapped for its loopback stand-in."""
    text = (CONFIG.read_text()
            .replace("https://google.serper.dev", serper.url).replace("https://chrome.browserless.io", browser.url)
            .replace("[google.serper.dev]", f"['{serper.url[7:]}']")
            .replace("[chrome.browserless.io]", f"['{browser.url[7:]}']"))
    return load_workflow(text, str(CONFIG))


def run(wf: Workflow, tmp_path: Path, client: Any = None, sinks: list[Any] | None = None) -> list[Any]:
    credentials = Credentials(named={"SERPER_API_KEY": SERPER_KEY, "BROWSERLESS_API_KEY": BROWSERLESS_KEY})
    engine = Engine(data_dir=tmp_path / "data", client=client, credentials=credentials,
                    policy=Policy(allow_private_http=True, default_model="offline/synthetic"), sinks=sinks or [])

    async def drain() -> list[Any]:
        return [event async for event in engine.run(wf, {})]

    return asyncio.run(drain())


def test_each_step_searches_scrapes_and_calculates_with_its_own_key(
        apis: tuple[SearchApi, SearchApi], tmp_path: Path) -> None:
    serper, browser = apis
    client = ScriptedClient(by_step={
        "identify": [Say(tool_calls=[("search_internet", {"q": "Kyoto vs Seoul weather April", "num": 4})]),
                     Say("Kyoto: cherry blossoms, 18°C, flights from 620 EUR.")],
        "gather": [Say(tool_calls=[("scrape_website", {"website": KYOTO})]),
                   Say("Guide: hanami at Maruyama Park, yudofu near Nanzen-ji.")],
        "plan": [Say(tool_calls=[("calculator", {"expression": "620 + 7 * 140"})]),
                 Say("# 7 days in Kyoto\nBudget: 1600 EUR.")],
    })
    store = HistoryStore.open(tmp_path / "data")
    try:
        events = run(offline_config(serper, browser), tmp_path, client, [store.sink])
        store.flush(10)
        cur = store.read_cursor()
        recorded = [(e.type, getattr(e, "tool", None)) for e in q.replay(cur, events[-1].run_id, "")
                    if e.type in ("tool_call", "tool_result")]
        assert list(q.run_steps(cur, events[-1].run_id, "")["step_id"]) == ["identify", "gather", "plan"]
    finally:
        store.close()
    assert recorded == [(kind, tool) for tool in ("search_internet", "scrape_website", "calculator")
                        for kind in ("tool_call", "tool_result")]
    for path in (tmp_path / "data").rglob("*"):  # history DuckDB, checkpoints: no key anywhere
        if path.is_file():
            assert SERPER_KEY.encode() not in path.read_bytes() and BROWSERLESS_KEY.encode() not in path.read_bytes()

    assert events[-1].type == "run_finished"
    outputs = events[-1].outputs
    assert outputs == {"identify": "Kyoto: cherry blossoms, 18°C, flights from 620 EUR.",
                       "gather": "Guide: hanami at Maruyama Park, yudofu near Nanzen-ji.",
                       "plan": "# 7 days in Kyoto\nBudget: 1600 EUR."}
    results = {e.tool: e.result for e in events if e.type == "tool_result" and e.ok}
    assert '"snippet": "Cherry blossoms, 18\\u00b0C, flights from 620 EUR."' in results["search_internet"]
    assert "Hanami at Maruyama Park" in results["scrape_website"]
    assert results["calculator"] == "1600"
    searched, = serper.requests
    assert searched.headers["X-API-KEY"] == SERPER_KEY and searched.json() == {"q": "Kyoto vs Seoul weather April",
                                                                                 "num": 4}
    fetched, = browser.requests
    assert fetched.query == {"token": BROWSERLESS_KEY} and fetched.json() == {"url": KYOTO}
    assert "X-API-KEY" not in fetched.headers  # the Serper key never went to the page fetcher
    # Each step reads the previous one, as CrewAI's sequential process passes task outputs on.
    gather_prompt = client.requests[2].messages[1]["content"]
    assert "The city report: Kyoto: cherry blossoms" in gather_prompt
    assert events[-1].output == outputs["plan"]


def test_it_runs_end_to_end_on_the_offline_model(apis: tuple[SearchApi, SearchApi], tmp_path: Path) -> None:
    serper, browser = apis
    events = run(offline_config(serper, browser), tmp_path)
    assert events[-1].type == "run_finished"
    finished = [e.step_id for e in events if e.type == "step_finished"]
    assert finished == ["identify", "gather", "plan"]
    # The offline model calls each agent's first tool (the search) with synthetic arguments.
    assert len(serper.requests) == 3 and {r.headers["X-API-KEY"] for r in serper.requests} == {SERPER_KEY}
    assert all(e.ok for e in events if e.type == "tool_result")
    assert all(out.startswith("[offline model] Using the tool result") for out in events[-1].outputs.values())
