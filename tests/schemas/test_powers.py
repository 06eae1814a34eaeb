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
