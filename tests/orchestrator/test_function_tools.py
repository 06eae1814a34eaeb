"""Function tools: typed Python functions the operator installed, called by agents in the engine."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from schemas import load_workflow
from schemas.errors import ConfigError
from schemas.functions import MODULES_ENV, installed_functions

TRIP = Path(__file__).resolve().parents[2] / "examples" / "function_tools.yaml"


def test_an_agent_calls_installed_functions_with_typed_arguments(make_engine) -> None:
    wf = load_workflow(TRIP.read_text(), str(TRIP))
    client = ScriptedClient(
        Say(tool_calls=[("calendar", {"start": "2026-06-01", "end": "2026-06-07"})]),
        Say(tool_calls=[("calculator", {"expression": "7 * 180"})]),
        Say("7 days, 1260 euros in total."),
    )
    events = collect(make_engine(client).run(wf, {}))
    results = [(r.tool, r.ok, r.result) for r in of_type(events, "tool_result")]
    assert results == [
        ("calendar", True, '{"days":7,"start_weekday":"Monday","end_weekday":"Sunday"}'),
        ("calculator", True, "1260"),
    ]
    assert events[-1].type == "run_finished" and events[-1].output == "7 days, 1260 euros in total."


def test_the_model_sees_each_function_s_typed_parameters(make_engine) -> None:
    client = ScriptedClient(Say("no tools needed"))
    collect(make_engine(client).run(load_workflow(TRIP.read_text(), str(TRIP)), {}))
    specs = {t["function"]["name"]: t["function"] for t in client.requests[0].tools}
    assert specs["calendar"]["description"].startswith("Count the days from `start` to `end`")
    assert specs["calendar"]["parameters"]["properties"]["start"] == {
        "type": "string", "format": "date", "description": "The first day, as YYYY-MM-DD."}
    assert specs["calculator"]["description"] == "Exact arithmetic; use it for every sum."  # the config's override
    assert specs["calculator"]["parameters"]["required"] == ["expression"]


def test_bad_arguments_and_failures_go_back_to_the_model(make_engine) -> None:
    client = ScriptedClient(
        Say(tool_calls=[("calendar", {"start": "June", "end": "2026-06-07"})]),
        Say(tool_calls=[("calculator", {"expression": "__import__('os')"})]),
        Say(tool_calls=[("calculator", {"expression": "9 ** 9 ** 9"})]),
        Say("I could not compute it."),
    )
    events = collect(make_engine(client).run(load_workflow(TRIP.read_text(), str(TRIP)), {}))
    texts = [r.result for r in of_type(events, "tool_result")]
    assert texts[0].startswith("error: invalid arguments for `days_between`: start: Input should be a valid date")
    assert texts[1] == "error: ValueError: only numbers and + - * / // % ** are allowed, not `__import__('os')`"
    assert texts[2] == "error: ValueError: exponents above 100 are not allowed"
    assert events[-1].type == "run_finished"


def test_an_operator_module_named_in_the_environment_adds_tools(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_engine) -> None:
    (tmp_path / "shop_tools_a.py").write_text(textwrap.dedent('''
        from pydantic import BaseModel

        class Item(BaseModel):
            sku: str
            quantity: int = 1

        async def price(item: Item, currency: str = "EUR") -> dict:
            """Look up the price of an item in the shop's catalogue."""
            return {"sku": item.sku, "total": 2.5 * item.quantity, "currency": currency}

        GRAPHWRIGHT_TOOLS = [price]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(MODULES_ENV, "shop_tools_a")
    assert installed_functions().functions["price"].source == MODULES_ENV
    wf = workflow("""
        version: 2
        name: shop
        tools: {price: {type: function, function: price}}
        agents: {a: {role: Clerk, tools: [price]}}
        steps: [{id: quote, type: agent, agent: a, prompt: Price two apples.}]
    """)
    client = ScriptedClient(Say(tool_calls=[("price", {"item": {"sku": "apple", "quantity": 2}})]), Say("5 EUR"))
    events = collect(make_engine(client).run(wf, {}))
    assert of_type(events, "tool_result")[0].result == '{"sku":"apple","total":5.0,"currency":"EUR"}'
    assert "$defs" in client.requests[0].tools[0]["function"]["parameters"]  # the nested model's schema


def test_an_unknown_function_is_a_validation_error_listing_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        workflow("""
            version: 2
            name: shop
            tools: {calc: {type: function, function: calculator}}
            agents: {a: {role: Clerk, tools: [calc]}}
            steps: [{id: s, type: agent, agent: a, prompt: Add.}]
        """)
    assert "test.yaml:4:42: tool `calc`: no function `calculator` is installed on this server (installed: `calculate`, " \
           "`days_between`) (did you mean `calculate`?)" in str(caught.value)


def test_a_module_that_breaks_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_tools_b.py").write_text("def f(x):\n    return x\nGRAPHWRIGHT_TOOLS = [f]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(MODULES_ENV, "broken_tools_b,missing_tools_c")
    found = installed_functions()
    assert "calculate" in found.functions and "f" not in found.functions
    assert found.problems == (
        f"{MODULES_ENV}: parameter `x` of function tool `f` has no type annotation",
        f"{MODULES_ENV}: cannot import `missing_tools_c`: ModuleNotFoundError: No module named 'missing_tools_c'",
    )
