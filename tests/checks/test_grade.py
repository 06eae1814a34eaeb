"""Grading a finished run's outputs: which value an expectation reads, and what each kind says."""

from __future__ import annotations

from orchestrator.checks.grade import caps, grade
from schemas.checks import Check, Expectation

OUTPUTS = {"plan": {"sections": [{"title": "Intro", "words": 120}, {"title": "End", "words": 80}]},
           "draft": "Tides rise twice a day.", "raw": '{"score": "7"}'}


def _grade(output=None, **fields):
    return grade(Expectation(**fields), output, OUTPUTS)


def test_fields_walk_objects_and_list_items_including_from_the_end() -> None:
    assert _grade(step="plan", field="sections.0.title", equals="Intro").passed
    assert _grade(step="plan", field="sections.-1.words", max=100).passed
    missing = _grade(step="plan", field="sections.5.title", equals="x")
    assert (missing.passed, missing.reason) == (False, "the output has no `sections.5.title`")


def test_a_structured_answer_that_came_as_text_is_read_as_json() -> None:
    assert _grade(step="raw", field="score", equals="7").passed
    assert _grade(step="raw", field="score", min=5, max=9).passed  # a number written as text counts
    assert _grade(step="raw", equals={"score": "7"}).passed
    text = _grade(step="draft", field="score", equals=1)
    assert text.reason == "the output is text, so it has no field `score`"


def test_a_step_that_did_not_run_fails_with_that_reason() -> None:
    found = _grade(step="review", contains="x")
    assert found.reason == "step `review` has no output (it did not run, or did not finish)"


def test_text_kinds_read_structured_values_as_json() -> None:
    assert _grade(step="plan", contains='"title": "intro"').passed  # JSON text, case ignored
    assert _grade(output="  Done.  ", equals="Done.").passed  # outer whitespace ignored
    assert not _grade(output="12", regex=r"^\d$").passed
    bad = _grade(output="abc", min=1)
    assert (bad.passed, bad.reason) == (False, "not a number: 'abc'")
    assert not _grade(output=True, min=0).passed  # a boolean is not a number


def test_shapes_name_where_the_value_went_wrong() -> None:
    found = _grade(step="plan", shape={"type": "object", "properties": {"sections": {
        "type": "array", "items": {"type": "object", "properties": {"words": {"maximum": 100}}}}}})
    assert (found.passed, found.reason) == (False, "at `sections.0.words`: 120 is greater than the maximum of 100")


def test_caps_say_what_was_used() -> None:
    check = Check(name="c", max_cost_usd=0.01, max_tokens=100, max_latency_s=2)
    assert [f.passed for f in caps(check, 0.02, 50, 2.0)] == [False, True, True]
    assert caps(check, 0.02, 50, 2.0)[0].reason == "cost was $0.02000, over $0.01"
