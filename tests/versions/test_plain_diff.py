"""The plain-words diff names every kind of change the format has (and nothing for cosmetic edits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import load_workflow
from schemas.config_diff import diff_workflows
from schemas.diff_words import NOUNS
from tests.schemas.test_generated import _models as models_in_the_tree  # every model, step kinds included

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE = """
version: 2
name: review
description: Draft and review.
default_model: openai/gpt-4o
inputs:
  topic: {default: tides}
models:
  fast: {model: openai/gpt-4o-mini}
agents:
  writer: {role: Writer}
  reviewer: {role: Reviewer, model: openai/gpt-4o, tools: [search]}
  boss: {role: Manager}
tools:
  search:
    type: http
    allow: ["https://api.search.com/v1/*"]
    secrets: {SEARCH_KEY: [api.search.com]}
    headers: {X-Key: "{{ secrets.SEARCH_KEY }}"}
steps:
  - id: plan
    type: agent
    agent: writer
    prompt: List subtopics of {{ inputs.topic }}.
    output: {topics: {type: list}}
  - id: polish
    type: loop
    max_iterations: 3
    until: steps.check.output == 'ok'
    steps:
      - id: draft
        type: agent
        agent: writer
        prompt: "Write about {{ steps.plan.output }}"
      - id: check
        type: agent
        agent: reviewer
        prompt: "Review {{ steps.draft.output }}"
  - id: each
    type: map
    over: "{{ steps.plan.output.topics }}"
    max_items: 10
    steps:
      - {id: note, type: agent, agent: writer, prompt: "Note on {{ item }}"}
  - id: pick
    type: route
    on: "{{ steps.check.output }}"
    cases:
      - when: ok
        steps:
          - {id: ship, type: approval, message: Ship it?}
      - when: bad
        steps: []
    default: []
  - id: ask
    type: ask
    question: Which format?
    choices: [short, long]
  - id: team
    type: supervisor
    manager: boss
    workers: [writer]
    task: Finish {{ inputs.topic }}
  - id: shape
    type: transform
    value: "{{ steps.plan.output }}"
"""


def _diff(before: str, after: str) -> list[str]:
    return diff_workflows(load_workflow(before), load_workflow(after)).lines()


def _edit(*pairs: tuple[str, str]) -> list[str]:
    after = BASE
    for old, new in pairs:
        assert old in after, old
        after = after.replace(old, new, 1)
    return _diff(BASE, after)


def test_the_issue_example_reads_as_written() -> None:
    lines = _edit(("reviewer: {role: Reviewer, model: openai/gpt-4o,", "reviewer: {role: Reviewer, model: openai/gpt-4o-mini,"),
                  ("max_iterations: 3", "max_iterations: 5"),
                  ('allow: ["https://api.search.com/v1/*"]', 'allow: ["https://api.search.com/v1/*", "https://api.example.com/*"]'))
    assert lines == [
        "agent `reviewer` now uses `openai/gpt-4o-mini` instead of `openai/gpt-4o`",
        "a new HTTP host api.example.com (tool `search`)",
        "loop `polish` may run 5 times instead of 3",
    ]


def test_no_change_and_cosmetic_change_say_nothing() -> None:
    assert _diff(BASE, BASE) == []
    assert _diff(BASE, BASE.replace("description: Draft and review.", "description: Draft and review.  # c")) == []


@pytest.mark.parametrize(("edit", "expected"), [
    # workflow level
    (("description: Draft and review.", "description: Draft, review, ship."), "the workflow: the description is now"),
    (("default_model: openai/gpt-4o\n", "default_model: fast\n"), "the workflow now uses `fast` instead of `openai/gpt-4o`"),
    # inputs
    (("topic: {default: tides}", "topic: {default: tides}\n  tone: {default: calm}"), "a new input `tone`"),
    (("topic: {default: tides}", "topic: {default: waves}"), "input `topic`: its default is now `waves` (was `tides`)"),
    (("topic: {default: tides}", "topic: {default: tides, type: text}"), "input `topic`: its type is now `text` (was `string`)"),
    # model aliases
    (("fast: {model: openai/gpt-4o-mini}", "fast: {model: openai/gpt-4.1-mini}"),
     "model alias `fast` now uses `openai/gpt-4.1-mini` instead of `openai/gpt-4o-mini`"),
    (("fast: {model: openai/gpt-4o-mini}", "fast: {model: openai/gpt-4o-mini, retries: 4}"),
     "model alias `fast`: its retries is now 4 (was 2)"),
    (("fast: {model: openai/gpt-4o-mini}", "fast: {model: openai/gpt-4o-mini, fallbacks: [openai/gpt-4o]}"),
     "model alias `fast` now has its fallbacks `openai/gpt-4o`"),
    # agents
    (("boss: {role: Manager}", "boss: {role: Manager}\n  extra: {role: Helper}"), "a new agent `extra`"),
    (("writer: {role: Writer}", "writer: {role: Senior writer}"), "agent `writer`: the role is now `Senior writer` (was `Writer`)"),
    (("writer: {role: Writer}", "writer: {role: Writer, instructions: " + "Be concise and concrete. " * 5 + "}"),
     "agent `writer` now has the instructions `Be concise"),
    (("tools: [search]}", "tools: []}"), "agent `reviewer` no longer has the tools (was `search`)"),
    (("writer: {role: Writer}", "writer: {role: Writer, max_tool_calls: 8}"), "agent `writer` may make 8 tool calls per step instead of 5"),
    (("writer: {role: Writer}", "writer: {role: Writer, output: {title: {}}}"), "agent `writer` now has the structured output"),
    # tools, hosts, secrets, powers
    (("    allow: [\"https://api.search.com/v1/*\"]", "    allow: [\"https://api.search.com/v1/*\"]\n    methods: [GET, POST]"),
     "tool `search` gains HTTP method `POST`"),
    (("secrets: {SEARCH_KEY: [api.search.com]}", "secrets: {SEARCH_KEY: [api.search.com]}\n    url: https://api.search.com/v1/q"),
     "tool `search` now has the URL `https://api.search.com/v1/q`"),
    (("secrets: {SEARCH_KEY: [api.search.com]}", "secrets: {SEARCH_KEY: [api.search.com], OTHER_KEY: [api.search.com]}"),
     "tool `search` now sends the secret `OTHER_KEY` (to api.search.com)"),
    (('headers: {X-Key: "{{ secrets.SEARCH_KEY }}"}', 'headers: {X-Key: "{{ secrets.SEARCH_KEY }}", Accept: text/plain}'),
     "tool `search`'s headers gain `Accept`"),
    (("tools:\n  search:", "tools:\n  calc: {type: function, function: calculate}\n  search:"), "a new tool `calc` (function)"),
    (('allow: ["https://api.search.com/v1/*"]', 'allow: ["https://api.search.com/v1/*", "https://api.search.com/v2/*"]'),
     "tool `search` may also fetch `https://api.search.com/v2/*`"),
    # steps added / removed / renamed / moved / kinds
    (("  - id: shape\n", "  - {id: extra, type: agent, agent: writer, prompt: More.}\n  - id: shape\n"),
     "a new step `extra`: an agent step by agent `writer` in the top level"),
    (("  - id: shape\n    type: transform\n    value: \"{{ steps.plan.output }}\"\n", ""), "step `shape` (a transform step) is removed"),
    (("  - id: shape\n", "  - id: reshape\n"), "step `shape` is renamed `reshape`"),
    (("  - id: shape\n    type: transform\n    value: \"{{ steps.plan.output }}\"\n",
      "  - id: shape\n    type: end\n    output: \"{{ steps.plan.output }}\"\n"), "step `shape` is now an end step instead of a transform step"),
    # prompts, agents of steps, models of steps
    (("prompt: List subtopics", "prompt: List three subtopics"), "step `plan`: the prompt is now"),
    (("prompt: List subtopics of {{ inputs.topic }}.", "prompt: List subtopics of {{ inputs.topic }}.\n    model: fast"),
     "step `plan` now uses `fast` instead of its agent's model"),
    (("agent: writer\n    prompt: List", "agent: reviewer\n    prompt: List"), "step `plan`: the agent is now `reviewer` (was `writer`)"),
    # loops, maps, routes, conditions
    (("until: steps.check.output == 'ok'", "until: steps.check.output == 'fine'"), "loop `polish`: the stop condition is now"),
    (("max_items: 10", "max_items: 30"), "map `each` handles up to 30 items instead of 10"),
    (('over: "{{ steps.plan.output.topics }}"', 'over: "{{ steps.plan.output.topics }} "'), "map `each`: the list it maps over is now"),
    (("      - when: bad\n        steps: []\n", ""), "route `pick` no longer has the case `bad`"),
    (("      - when: bad\n", "      - when: worse\n"), "route `pick` has a new case `worse`"),
    (('on: "{{ steps.check.output }}"', 'on: "{{ steps.draft.output }}"'), "route `pick`: the value it routes on is now"),
    # retry, timeout, artifacts
    (("prompt: List subtopics of {{ inputs.topic }}.", "prompt: List subtopics of {{ inputs.topic }}.\n    retry: {attempts: 3}"),
     "step `plan` now has the retries"),
    (("prompt: List subtopics of {{ inputs.topic }}.", "prompt: List subtopics of {{ inputs.topic }}.\n    timeout_seconds: 30"),
     "step `plan` now has the time limit per attempt (s) 30"),
    (("prompt: List subtopics of {{ inputs.topic }}.", "prompt: List subtopics of {{ inputs.topic }}.\n    artifact: {name: plan.md}"),
     "step `plan` now has the file it writes"),
    # approvals and questions
    (("message: Ship it?", "message: Ship it now?"), "step `ship`: the message is now `Ship it now?` (was `Ship it?`)"),
    (("message: Ship it?}", "message: Ship it?, on_reject: continue}"), "step `ship`: what a rejection does is now `continue` (was `stop`)"),
    (("choices: [short, long]", "choices: [short, long, bullet]"), "step `ask` gains choice `bullet`"),
    # supervisors, transforms
    (("workers: [writer]", "workers: [writer, reviewer]"), "supervisor `team` gains worker `reviewer`"),
    (("    task: Finish {{ inputs.topic }}\n", "    task: Finish {{ inputs.topic }}\n    max_delegations: 9\n"),
     "supervisor `team` may delegate 9 times instead of 5"),
    (('value: "{{ steps.plan.output }}"', 'value: "{{ inputs.topic }}"'), "step `shape`: the value it builds is now"),
    # budgets and limits
    (("name: review\n", "name: review\nlimits: {max_cost_usd: 2.5}\n"), "the budget per run is now $2.5 instead of $1"),
    (("name: review\n", "name: review\nlimits: {max_steps: 80}\n"), "a run may take 80 steps instead of 50"),
])  # fmt: skip
def test_each_kind_of_change_is_named(edit: tuple[str, str], expected: str) -> None:
    lines = _edit(edit)
    assert any(line.startswith(expected) for line in lines), lines


def test_a_renamed_step_keeps_its_readers_quiet_and_a_moved_step_says_where() -> None:
    renamed = BASE.replace("id: plan", "id: outline").replace("steps.plan.", "steps.outline.")
    assert _diff(BASE, renamed) == ["step `plan` is renamed `outline`"]
    moved = BASE.replace('        prompt: "Review {{ steps.draft.output }}"\n', '        prompt: "Review {{ steps.draft.output }}"\n'
                         "      - {id: tidy, type: agent, agent: writer, prompt: Tidy.}\n")
    assert _diff(BASE, moved) == ["a new step `tidy`: an agent step by agent `writer` in loop `polish`"]
    swapped = BASE.replace("  - id: ask\n    type: ask\n    question: Which format?\n    choices: [short, long]\n", "")
    swapped = swapped.replace("  - id: shape\n", "  - id: ask\n    type: ask\n    question: Which format?\n"
                              "    choices: [short, long]\n  - id: shape\n")
    assert _diff(BASE, swapped) == [
        "in the top level, steps now run in the order plan → polish → each → pick → team → ask → shape "
        "(was plan → polish → each → pick → ask → team → shape)"]


def test_raised_powers_are_listed_beside_the_changes() -> None:
    after = BASE.replace('allow: ["https://api.search.com/v1/*"]', 'allow: ["https://api.search.com/v1/*", "https://evil.example/*"]')
    diff = diff_workflows(load_workflow(BASE), load_workflow(after))
    assert diff.powers and "evil.example" in " ".join(diff.powers)
    assert "Powers raised" in diff.to_text()


def test_every_field_of_every_model_has_words() -> None:
    kinds = {m.__name__ for m in models_in_the_tree()}
    assert {"AgentStep", "LoopStep", "MapStep", "RouteStep", "SupervisorStep", "HttpTool", "Limits"} <= kinds
    unnamed = [f"{m.__name__}.{name}" for m in models_in_the_tree() for name in m.model_fields
               if f"{m.__name__}.{name}" not in NOUNS and name not in NOUNS]
    assert unnamed == []


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_an_example_against_itself_and_a_real_edit(name: str) -> None:
    text = (EXAMPLES / name).read_text()
    workflow = load_workflow(text, str(EXAMPLES / name), base_dir=EXAMPLES)
    assert diff_workflows(workflow, workflow).lines() == []
    limited = workflow.model_copy(update={"limits": workflow.limits.model_copy(update={"max_steps": 999})})
    assert diff_workflows(workflow, limited).lines() == [f"a run may take 999 steps instead of {workflow.limits.max_steps}"]
