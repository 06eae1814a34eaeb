"""Helpers of the checks tests: the workflow under test and how the loopback server answers it."""

from __future__ import annotations

import json
import re
import textwrap

from testkit.replies import Reply

HEAD = textwrap.dedent("""\
    version: 2
    name: checked
    default_model: openai/gpt-4o-mini
    inputs: {topic: {}}
    agents:
      writer: {role: Writer}
      scorer: {role: Scorer, output: {title: {}, score: {type: integer}}}
    steps:
      - {id: draft, type: agent, agent: writer, prompt: 'Write about {{ inputs.topic }}'}
      - {id: rate, type: agent, agent: scorer, prompt: 'Rate {{ steps.draft.output }}'}
    """)


def config(checks: str) -> str:
    """The workflow under test with `checks` (YAML text of the list) appended."""
    return HEAD + "checks:\n" + textwrap.indent(textwrap.dedent(checks), "  ")


def answer_steps(request) -> Reply:
    """`draft` writes "A note on <topic> tides."; `rate` scores the number of words in the topic; a judge
    not scripted otherwise says yes."""
    prompt = str(request.messages[-1]["content"])
    if prompt.startswith("Criterion: "):
        return verdict(True, f"{request.model} agrees.")
    written = re.search(r"Write about (.+)", prompt)
    if written:
        return Reply(text=f"A note on {written.group(1).strip()} tides.")
    rated = re.search(r"Rate A note on (.+?) tides", prompt)
    if rated:
        topic = rated.group(1)
        return Reply.json({"title": topic.title(), "score": len(topic.split())})
    return Reply(fault="server_error", message=f"unexpected request: {prompt[:200]}")


def verdict(passed: bool, reason: str) -> Reply:
    return Reply(text=json.dumps({"passed": passed, "reason": reason}))
