"""Running declared checks through the real engine and LiteLLM against the loopback server."""

from __future__ import annotations

import asyncio

from checks_testing import config, verdict

from orchestrator.checks.runner import run_checks
from schemas import load_workflow
from testkit.replies import Reply


def _run(engine, text: str, **kwargs):
    return asyncio.run(run_checks(engine, load_workflow(text, "checked.yaml"), **kwargs))


def test_deterministic_expectations_pass_and_fail_with_reasons(answering, engine) -> None:
    report = _run(engine, config("""
        - name: all hold
          inputs: {topic: deep sea}
          expect:
            - {step: draft, contains: DEEP SEA}
            - {step: draft, regex: "^A note on .+ tides\\\\.$"}
            - {field: title, equals: Deep Sea}
            - {field: score, min: 2, max: 2}
            - shape: {type: object, required: [title, score], properties: {score: {type: integer}}}
        - name: all wrong
          inputs: {topic: moon}
          expect:
            - {step: draft, contains: sun}
            - {step: draft, regex: "^B"}
            - {field: title, equals: Sun}
            - {field: score, min: 3}
            - shape: {type: object, required: [summary]}
        """))
    good, bad = report.cases
    assert good.passed and good.reason == ""
    assert not bad.passed and not report.passed
    reasons = bad.attempts[0].reasons
    assert len(reasons) == 5
    assert reasons[0] == "contains 'sun' (step `draft`): not found in 'A note on moon tides.'"
    assert reasons[1].startswith("matches /^B/ (step `draft`): no match")
    assert reasons[2] == "equals 'Sun' (final output.title): got 'Moon'"
    assert reasons[3] == ">= 3 (final output.score): 1 is below 3"
    assert "'summary' is a required property" in reasons[4]


def test_a_judge_that_says_no_fails_the_case_and_its_cost_is_kept_apart(answering, engine) -> None:
    answering.script(verdict(False, "It never mentions the weather."), model="gpt-4o")
    seen: list = []
    engine.sinks.append(seen.append)
    report = _run(engine, config("""
        - name: judged
          inputs: {topic: storms}
          expect:
            - {step: draft, judge: The text talks about the weather, model: openai/gpt-4o}
        """))
    case = report.cases[0]
    attempt = case.attempts[0]
    assert not case.passed
    assert attempt.judge_verdict is False and attempt.judge_reason == "It never mentions the weather."
    assert case.reason == ("judge: The text talks about the weather (step `draft`): It never mentions the "
                           "weather.")
    judge_call = [r for r in answering.requests if r.model == "gpt-4o"]
    assert len(judge_call) == 1 and "A note on storms tides." in judge_call[0].messages[-1]["content"]
    assert attempt.judge_cost_usd > 0 and attempt.judge_model == "openai/gpt-4o"
    calls = [e for e in seen if e.type == "llm_call"]  # the run's calls: its two steps, not the judge
    assert [c.model for c in calls] == ["openai/gpt-4o-mini"] * 2 and {c.run_id for c in calls} == {attempt.run_id}
    assert attempt.cost_usd > 0 and abs(attempt.cost_usd - sum(c.cost_usd for c in calls)) < 1e-9


def test_a_judge_that_says_yes_passes_and_an_unreadable_answer_fails(answering, engine) -> None:
    answering.script(verdict(True, "Tides are named."), model="gpt-4o")
    text = config("""
        - name: judged
          inputs: {topic: storms}
          expect: [{step: draft, judge: It names tides, model: openai/gpt-4o}]
        """)
    assert _run(engine, text).passed
    answering.script(Reply(text="yes!"), model="gpt-4o")
    again = _run(engine, text).cases[0]
    assert not again.passed and "the judge's answer could not be read" in again.reason


def test_repeat_passes_when_enough_attempts_pass(answering, engine) -> None:
    yes, no = verdict(True, "about the reef"), verdict(False, "not about the reef")
    answering.script(yes, no, yes, yes, no, yes, model="gpt-4o")  # one at a time: in this order
    report = _run(engine, config("""
        - name: two of three
          inputs: {topic: reef}
          repeat: 3
          pass_threshold: 0.66
          expect: [{step: draft, judge: It is about the reef, model: openai/gpt-4o}]
        - name: all three
          inputs: {topic: reef}
          repeat: 3
          expect: [{step: draft, judge: It is about the reef, model: openai/gpt-4o}]
        """), concurrency=1)
    lenient, strict = report.cases
    assert [a.passed for a in lenient.attempts] == [True, False, True] == [a.passed for a in strict.attempts]
    assert lenient.passed and not strict.passed and not report.passed
    assert strict.reason == ("2/3 passed, 3 needed — attempt 2: judge: It is about the reef (step `draft`): "
                             "not about the reef")
    assert len({a.run_id for a in report.attempts}) == 6  # every attempt is its own run
    answering.assert_all_used()


def test_caps_on_cost_tokens_and_latency(answering, engine) -> None:
    report = _run(engine, config("""
        - name: capped
          inputs: {topic: kelp}
          max_cost_usd: 0.0000001
          max_tokens: 5
          max_latency_s: 0.000001
        - name: roomy
          inputs: {topic: kelp}
          max_cost_usd: 1
          max_tokens: 100000
          max_latency_s: 600
        """))
    capped, roomy = report.cases
    assert roomy.passed
    reasons = capped.attempts[0].reasons
    assert [r.split(":")[0] for r in reasons] == ["cost <= $1e-07", "tokens <= 5", "latency <= 1e-06s"]
    assert "over 5" in reasons[1]


def test_a_failing_run_fails_its_case_with_the_run_error(llm_server, engine) -> None:
    llm_server.set_default(lambda _req: Reply(fault="auth"))
    report = _run(engine, config("""
        - name: broken
          inputs: {topic: x}
          expect: [{contains: x}]
        """))
    case = report.cases[0]
    assert not case.passed and case.attempts[0].status == "failed"
    assert case.reason.startswith("run failed: ")


def test_cases_run_concurrently_but_bounded(llm_server, engine) -> None:
    from checks_testing import answer_steps

    def slow(request) -> Reply:
        reply = answer_steps(request)
        return Reply(text=reply.text, latency=0.3)

    llm_server.set_default(slow)
    cases = "".join(f"- {{name: c{i}, inputs: {{topic: t{i}}}, expect: [{{step: draft, contains: t{i}}}]}}\n"
                    for i in range(6))
    report = _run(engine, config(cases), concurrency=3)
    assert report.passed and len(report.cases) == 6
    assert 2 <= llm_server.max_in_flight <= 3


def test_model_override_runs_the_steps_elsewhere_but_not_the_judge(answering, engine) -> None:
    answering.script(verdict(True, "fine"), model="gpt-4o")
    report = _run(engine, config("""
        - name: judged
          inputs: {topic: gulls}
          expect: [{step: draft, judge: It is about gulls, model: openai/gpt-4o}]
        """), model="openai/gpt-4.1-mini")
    assert report.passed and report.model == "openai/gpt-4.1-mini"
    assert sorted(r.model for r in answering.requests) == ["gpt-4.1-mini", "gpt-4.1-mini", "gpt-4o"]


def test_a_judge_without_a_model_uses_the_workflows_default_model(answering, engine) -> None:
    report = _run(engine, config("""
        - {name: judged, inputs: {topic: gulls}, expect: [{step: draft, judge: It is about gulls}]}
        """), model="openai/gpt-4.1-mini")
    attempt = report.cases[0].attempts[0]
    assert report.passed and attempt.judge_model == "openai/gpt-4o-mini"
    assert attempt.judge_reason == "gpt-4o-mini agrees."
