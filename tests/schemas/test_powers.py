"""raised_powers: what the user must confirm before a change is applied."""

from schemas import load_workflow
from schemas.powers import raised_powers

BASE = """\
version: 1
name: demo
agents:
  writer: {role: Writer, tools: [web]}
tools:
  web: {type: http, allow: ['https://example.com/*']}
steps:
  - {id: a, type: agent, agent: writer, prompt: x}
"""


def test_nothing_raised_when_nothing_changes() -> None:
    workflow = load_workflow(BASE)
    assert raised_powers(workflow, workflow) == []


def test_new_workflow_lists_its_tools() -> None:
    assert raised_powers(None, load_workflow(BASE)) == [
        "new http tool `web` (GET) may fetch `https://example.com/*`",
        "agent `writer` may now use tool `web`",
    ]


def test_wider_http_python_tool_and_limits() -> None:
    after = load_workflow(
        BASE.replace(
            "allow: ['https://example.com/*']",
            "allow: ['https://example.com/*', 'https://evil.test/*'], methods: [GET, POST]",
        )
        .replace("tools: [web]", "tools: [web, run], max_tool_calls: 9")
        .replace("tools:\n", "tools:\n  run: {type: python}\n")
        + "limits: {max_cost_usd: 5, max_steps: 10}\n"
    )
    assert raised_powers(load_workflow(BASE), after) == [
        "new python tool `run`: runs code written by the model in a Docker sandbox",
        "http tool `web` may now fetch `https://evil.test/*`",
        "http tool `web` may now send POST requests",
        "agent `writer` may now use tool `run`",
        "agent `writer`: tool calls per step 5 → 9",
        "run limit: budget per run (USD) 1 → 5",
    ]


def test_lowering_powers_needs_no_confirmation() -> None:
    before = load_workflow(BASE + "limits: {max_cost_usd: 5}\n")
    after = load_workflow(BASE.replace("tools: [web]", "tools: []"))
    assert raised_powers(before, after) == []


SEARCH = BASE.replace(
    "web: {type: http, allow: ['https://example.com/*']}",
    "web: {type: http, allow: ['https://example.com/*', 'https://eu.example.com/*'], "
    "headers: {X-API-KEY: '{{ secrets.SEARCH_KEY }}'}, secrets: {SEARCH_KEY: [example.com]}}",
)


def test_sending_a_named_secret_to_a_host_needs_confirmation() -> None:
    plain, search = load_workflow(BASE), load_workflow(SEARCH)
    assert raised_powers(plain, search) == [
        "http tool `web` may now fetch `https://eu.example.com/*`",
        "http tool `web` may send your secret `SEARCH_KEY` to `example.com`",
    ]
    wider = load_workflow(SEARCH.replace("[example.com]", "[example.com, eu.example.com]"))
    assert raised_powers(search, wider) == ["http tool `web` may send your secret `SEARCH_KEY` to `eu.example.com`"]
    assert raised_powers(wider, search) == []  # narrowing needs no confirmation


def test_a_function_tool_runs_operator_code_in_the_app_and_needs_confirmation() -> None:
    calc = load_workflow(BASE.replace("web: {type: http, allow: ['https://example.com/*']}",
                                      "web: {type: function, function: calculate}"))
    assert raised_powers(None, calc)[0] == (
        "new function tool `web`: runs the installed Python function `calculate` in the app's own process")
