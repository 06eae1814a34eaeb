"""One agent persona serves several tasks: a step sets its own model, output and parameters."""

from __future__ import annotations

import json
from typing import Any

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from chatbot.estimate import estimate_cost
from orchestrator.policy import Policy
from schemas import validate_text
from testkit.replies import Reply

PERSONA = """
    version: 2
    name: one-persona
    default_model: openai/gpt-4o-mini
    models:
      careful: {model: openai/gpt-4.1-mini, temperature: 0.7}
    agents:
      analyst: {role: Analyst, goal: Understand customer feedback}
    steps:
      - id: score
        type: agent
        agent: analyst
        prompt: 'Score this feedback: great tool'
        model: careful
        temperature: 0.1
        max_tokens: 50
        output:
          score: {type: integer, description: 1 to 10}
          mood: {enum: [happy, unhappy]}
      - id: summary
        type: agent
        agent: analyst
        prompt: 'Summarise in one line (mood {{ steps.score.output.mood }}, score {{ steps.score.output.score }})'
"""


def _answers(request: Any) -> Say:
    if request.json_schema:
        return Say(json.dumps({"score": 9, "mood": "happy"}))
    return Say("A happy customer.")


def test_a_step_overrides_the_agents_model_output_and_parameters(make_engine) -> None:
    client = ScriptedClient(responder=_answers)
    events = collect(make_engine(client).run(workflow(PERSONA), {}))

    assert events[-1].type == "run_finished"
    assert events[-1].outputs["score"] == {"score": 9, "mood": "happy"}
    first, second = client.requests
    assert (first.params.model, first.params.temperature, first.params.max_tokens) == ("openai/gpt-4.1-mini", 0.1, 50)
    assert set(first.json_schema["properties"]) == {"score", "mood"}
    assert (second.params.model, second.params.temperature, second.json_schema) == ("openai/gpt-4o-mini", None, None)
    assert second.messages[-1]["content"] == "Summarise in one line (mood happy, score 9)"
    models = [e.model for e in of_type(events, "step_finished")]
    assert models == ["openai/gpt-4.1-mini", "openai/gpt-4o-mini"]


def test_step_settings_reach_the_provider_over_litellm(llm_server, llm_client, make_engine) -> None:
    llm_server.set_default(lambda request: Reply(text=_answers(_Seen(request)).text))
    events = collect(make_engine(llm_client, policy=Policy(default_model="openai/gpt-4o-mini")).run(workflow(PERSONA), {}))

    assert events[-1].type == "run_finished", events[-1]
    first, second = llm_server.requests
    assert (first.model, first.body.get("temperature"), first.body.get("max_tokens")) == ("gpt-4.1-mini", 0.1, 50)
    assert "response_format" in first.body and "response_format" not in second.body
    assert second.model == "gpt-4o-mini"


class _Seen:
    """The loopback request seen as an engine request: structured when a schema was asked for."""

    def __init__(self, request: Any) -> None:
        self.json_schema = "response_format" in request.body


def test_step_settings_are_validated_and_read_like_agent_outputs() -> None:
    bad = PERSONA.replace("model: careful", "model: carefull").replace("output.mood", "output.moood")
    report = validate_text(bad.replace("\n    ", "\n")[1:], "p.yaml")
    warning = next(i for i in report.warnings if "carefull" in i.message)  # like an agent's model
    assert (warning.line, warning.path) == (13, ("steps", 0, "model")) and "did you mean `careful`" in str(warning)
    assert [i.message for i in report.errors] == ["step `score` has no output field `moood`"]


def test_the_estimate_counts_the_steps_own_model_and_answer_cap() -> None:
    estimate = estimate_cost(workflow(PERSONA), default_model="openai/gpt-4o-mini")
    by_model = estimate.expected.by_model
    assert by_model["openai/gpt-4.1-mini"][0] == 1 and by_model["openai/gpt-4.1-mini"][2] == 50
    assert by_model["openai/gpt-4o-mini"][0] == 1
