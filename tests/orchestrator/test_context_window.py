"""Prompts longer than the model's context window: fail clearly, cut the middle, or summarise."""

from __future__ import annotations

import pytest
from engine_testing import collect, of_type, workflow

from orchestrator import context_window
from orchestrator.llm_types import LLMRequest, ModelParams
from testkit.replies import Reply

BIG = "START " + "tides rise and fall twice a day. " * 400 + " END"  # ≈ 13,000 characters

CONFIG = """
    version: 2
    name: windows
    inputs:
      doc: {type: text}
    models:
      small: {model: openai/gpt-4o-mini, context_window: 1000}
      cheap: {model: openai/gpt-3.5-turbo}
    agents:
      reader:
        role: Reader
        model: small
        on_overflow: MODE
        summary_model: cheap
    steps:
      - id: read
        type: agent
        agent: reader
        prompt: "Summarise this for a child: {{ inputs.doc }}"
"""


def _run(make_engine, client, mode: str) -> list:
    wf = workflow(CONFIG.replace("MODE", mode))
    return collect(make_engine(client).run(wf, {"doc": BIG}))


def test_fail_names_the_step_model_token_count_and_biggest_input(llm_server, llm_client, make_engine) -> None:
    events = _run(make_engine, llm_client, "fail")
    assert events[-1].type == "run_failed" and events[-1].step_id == "read"
    message = events[-1].message
    assert "step `read`: the prompt is" in message and "over the context window of `openai/gpt-4o-mini` (1,000 tokens)" in message
    assert "biggest inputs: `inputs.doc` ≈" in message and "on_overflow: cut_middle" in message
    assert not llm_server.requests  # nothing was sent


def test_cut_middle_keeps_the_start_and_end(llm_server, llm_client, make_engine) -> None:
    llm_server.script(Reply(text="short answer"))
    events = _run(make_engine, llm_client, "cut_middle")
    assert events[-1].type == "run_finished", events[-1]
    sent = llm_server.requests[0].messages[-1]["content"]
    assert sent.startswith("Summarise this for a child: START") and sent.endswith(" END")
    assert "characters cut to fit the model's context window" in sent
    assert context_window.count_tokens(LLMRequest(ModelParams("openai/gpt-4o-mini"),
                                                  llm_server.requests[0].messages)) <= 1000
    assert any("cut the middle of `inputs.doc`" in w.message for w in of_type(events, "warning"))


def test_summarise_uses_the_cheap_model_and_its_cost_is_counted(llm_server, llm_client, make_engine) -> None:
    llm_server.script(Reply(text="Tides: the sea rises and falls twice a day."), model="gpt-3.5-turbo")
    llm_server.script(Reply(text="The sea goes up and down."), model="gpt-4o-mini")
    events = _run(make_engine, llm_client, "summarise")
    assert events[-1].type == "run_finished", events[-1]
    summary_call, main_call = llm_server.requests
    assert summary_call.model == "gpt-3.5-turbo" and BIG[:200] in summary_call.messages[-1]["content"]
    assert main_call.messages[-1]["content"] == ("Summarise this for a child: "
                                                 "Tides: the sea rises and falls twice a day.")
    calls = of_type(events, "llm_call")
    assert [c.model for c in calls] == ["openai/gpt-3.5-turbo", "openai/gpt-4o-mini"]
    step = of_type(events, "step_finished")[0]
    assert calls[0].cost_usd > 0 and step.cost_usd == pytest.approx(sum(c.cost_usd for c in calls))
    assert any("summarised `inputs.doc`" in w.message for w in of_type(events, "warning"))


def test_the_offline_model_has_a_declared_window(make_engine) -> None:
    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient

    wf = workflow("""
        version: 2
        name: offline
        inputs: {doc: {type: text}}
        agents: {reader: {role: Reader}}
        steps:
          - {id: read, type: agent, agent: reader, prompt: "Summarise this: {{ inputs.doc }}"}
    """)
    none = Credentials()
    fits = collect(make_engine(LiteLLMClient(none), credentials=none).run(wf, {"doc": BIG}))
    assert fits[-1].type == "run_finished"
    huge = collect(make_engine(LiteLLMClient(none), credentials=none).run(wf, {"doc": BIG * 12}))
    assert huge[-1].type == "run_failed" and "`offline/synthetic` (32,000 tokens)" in huge[-1].message


def test_an_unknown_model_is_not_checked_and_says_so_once(llm_server, llm_client, make_engine) -> None:
    llm_server.set_default("echo")
    wf = workflow("""
        version: 2
        name: unknown
        default_model: openai/house-model-7
        agents: {a: {role: A}}
        steps:
          - {id: one, type: agent, agent: a, prompt: hi}
          - {id: two, type: agent, agent: a, prompt: again}
    """)
    events = collect(make_engine(llm_client).run(wf, {}))
    assert events[-1].type == "run_finished"
    notes = [w.message for w in of_type(events, "warning") if "no known context window" in w.message]
    assert len(notes) == 1 and "`openai/house-model-7`" in notes[0] and "context_window" in notes[0]


def test_a_prompt_well_inside_the_window_is_never_tokenized(monkeypatch) -> None:
    def boom(*_a, **_k):
        raise AssertionError("counted tokens for a prompt that cannot overflow")

    monkeypatch.setattr(context_window, "count_tokens", boom)
    request = LLMRequest(ModelParams("openai/gpt-4o-mini"), [{"role": "user", "content": "x" * 20_000}])
    assert not context_window.might_overflow(request, 128_000)
    near = LLMRequest(ModelParams("openai/gpt-4o-mini"), [{"role": "user", "content": "x" * 130_000}])
    assert context_window.might_overflow(near, 128_000)


def test_the_estimate_warns_when_a_step_may_overflow() -> None:
    from chatbot.estimate import estimate_cost

    wf = workflow("""
        version: 2
        name: est
        inputs:
          book: {type: file, max_bytes: 2000000}
        agents: {a: {role: A, model: openai/gpt-4o-mini}}
        steps:
          - {id: read, type: agent, agent: a, prompt: "Summarise {{ inputs.book }}"}
    """)
    warnings = estimate_cost(wf, default_model="openai/gpt-4o-mini").warnings
    assert any("step `read` may overflow" in w and "`openai/gpt-4o-mini`" in w for w in warnings), warnings
    small = workflow("""
        version: 2
        name: est
        agents: {a: {role: A, model: openai/gpt-4o-mini}}
        steps:
          - {id: read, type: agent, agent: a, prompt: "Hello"}
    """)
    assert not [w for w in estimate_cost(small, default_model="openai/gpt-4o-mini").warnings if "overflow" in w]
