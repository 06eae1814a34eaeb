"""The value language: nested outputs, list items and list functions, type checks, loop rounds."""

from collections.abc import Callable

import pytest

from schemas.errors import ExpressionError
from schemas.expressions import evaluate, evaluate_value, parse_expression
from schemas.templates import render, resolve

Errors = Callable[..., list[str]]

HEAD = """\
version: 2
name: demo
agents:
  w: {role: Writer}
  planner:
    role: Planner
    output:
      sections:
        type: list
        items:
          type: object
          fields:
            title: {}
            wordCount: {type: integer}
            level: {enum: [low, high]}
      nextStep: {optional: true}
  reviewer:
    role: Reviewer
    output:
      approved: {type: boolean}
      feedback: {}
steps:
  - {id: plan, type: agent, agent: planner, prompt: go}
"""  # later steps start on line 23

PLAN = {"sections": [{"title": "Intro", "wordCount": 120, "level": "low"},
                     {"title": "Method", "wordCount": 900, "level": "high"},
                     {"title": "Results", "wordCount": 400, "level": "high"}], "nextStep": None}
CONTEXT = {"steps": {"plan": {"output": PLAN}}, "inputs": {}}


def steps(*lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in lines)


@pytest.mark.parametrize(("text", "value"), [
    ("steps.plan.output.sections.1.title", "Method"),
    ("steps.plan.output.sections[-1].title", "Results"),
    ("count(steps.plan.output.sections, it.level == \"high\")", 2),
    ("any(steps.plan.output.sections, it.wordCount > 800)", True),
    ("all(steps.plan.output.sections, it.wordCount > 800)", False),
    ("pluck(filter(steps.plan.output.sections, it.level == \"high\"), \"title\")", ["Method", "Results"]),
    ("pluck(take(sort(steps.plan.output.sections, it.wordCount, \"desc\"), 2), \"title\")", ["Method", "Results"]),
    ("join(pluck(steps.plan.output.sections, \"title\"), \" / \")", "Intro / Method / Results"),
    ("first(steps.plan.output.sections).title", "Intro"),
    ("max(steps.plan.output.sections, it.wordCount)", 900),
    ("sum(steps.plan.output.sections, it.wordCount)", 1420),
    ("count(steps.plan.output.nextStep)", 0),  # a missing list counts as empty
])
def test_expressions_read_nested_fields_and_combine_lists(text: str, value: object) -> None:
    assert evaluate_value(text, CONTEXT) == value


def test_templates_read_list_items_and_evaluate_expression_blocks() -> None:
    text = "First: {{ steps.plan.output.sections.0.title }}; all: {{ join(pluck(steps.plan.output.sections, \"title\"), \", \") }}"
    assert render(text, CONTEXT) == "First: Intro; all: Intro, Method, Results"
    assert resolve("{{ filter(steps.plan.output.sections, it.level == \"low\") }}", CONTEXT) == [PLAN["sections"][0]]
    assert render("next: {{ steps.plan.output.nextStep }}.", CONTEXT) == "next: ."  # optional and absent


def test_work_is_bounded_and_only_whitelisted_functions_exist() -> None:
    big = {"xs": list(range(1000))}
    with pytest.raises(ExpressionError, match="too much work"):
        evaluate("count(xs, count(xs, count(xs) > 0) > 0) > 0", big)
    with pytest.raises(ExpressionError, match="not a function expressions know"):
        parse_expression("__import__(\"os\")")
    with pytest.raises(ExpressionError, match="not a name a config can declare"):
        parse_expression("count(filter(inputs.xs, it.__class__ == 1)) > 0")
    with pytest.raises(ExpressionError, match="needs a list"):
        evaluate("count(inputs.name) > 0", {"inputs": {"name": "text"}})


def test_the_dotted_item_form_keeps_columns_for_errors() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("steps.a.output.items.0.x == 1 + 2")
    assert info.value.column == 29  # where `1 + 2` starts in the text as written, not as rewritten


def test_nested_fields_and_list_items_are_checked_against_the_declaration(errors_of: Errors) -> None:
    assert errors_of(steps(
        "  - {id: a, type: agent, agent: w, prompt: '{{ steps.plan.output.sections.0.title }} {{ steps.plan.output.nextStep }}'}",
    )) == []
    assert errors_of(steps(
        "  - {id: a, type: agent, agent: w, prompt: '{{ steps.plan.output.sections.0.titel }}'}",
        "  - {id: b, type: agent, agent: w, prompt: '{{ steps.plan.output.sections.title }}'}",
    )) == [
        "24:45: `steps.plan.output.sections.0` has no field `titel` (did you mean `title`?)",
        "25:45: `steps.plan.output.sections` is a list of objects (title, wordCount, level): read an item "
        "with `.0`, or every `title` with `pluck(..., \"title\")`",
    ]


def test_conditions_that_can_never_hold_are_errors_with_a_fix(errors_of: Errors) -> None:
    found = errors_of(steps(
        "  - id: r",
        "    type: route",
        "    cases:",
        "      - {when: 'steps.plan.output.sections contains \"no\"', steps: [{id: a, type: agent, agent: w, prompt: x}]}",
        "      - {when: 'steps.plan.output.sections.0 == 3', steps: [{id: b, type: agent, agent: w, prompt: x}]}",
        "      - {when: 'any(steps.plan.output.sections, it.level == \"mid\")', steps: [{id: c, type: agent, agent: w, prompt: x}]}",
        "      - {when: 'count(steps.plan.output.nextStep) > 1', steps: [{id: d, type: agent, agent: w, prompt: x}]}",
        "    default: []",
    ))
    assert found == [
        "27:17: `steps.plan.output.sections` is a list of objects (title, wordCount, level), so `contains \"no\"` "
        "compares whole items with a string and is never true (test a field of each item, e.g. "
        "`any(steps.plan.output.sections, it.title == \"no\")`)",
        "28:17: `steps.plan.output.sections.0` is an object (title, wordCount, level) and `3` is an integer: "
        "they are never equal",
        "29:61: `it.level` is one of \"low\", \"high\", never \"mid\"",
        "30:23: `count` needs a list, but `steps.plan.output.nextStep` is a string (write e.g. "
        "`count(list) or count(list, it.done)`)",
    ]


LOOP = """\
  - id: revise
    type: loop
    max_iterations: 3
    until: steps.review.output.approved == true
    steps:
      - {id: draft, type: agent, agent: w, prompt: '%s'}
      - {id: review, type: agent, agent: reviewer, prompt: 'Review {{ steps.draft.output }}'}
"""


def test_reading_a_later_loop_step_points_to_the_previous_round(errors_of: Errors) -> None:
    assert errors_of(steps(LOOP % "Fix {{ steps.review.output.feedback }}")) == [
        "29:57: step `review` runs later in loop `revise`, so it has no output yet in this round "
        "(to read what it said in the previous round, write `loop.previous.review.output.feedback` "
        "(null in the first round))"
    ]
    assert errors_of(steps(LOOP % "{{ loop.previous.plan.output }} {{ loop.history.review.0.feedbak }}")) == [
        "29:53: `loop.previous.plan.output` reads step `plan`, which is not in the body of loop `revise` "
        "(expected one of `draft`, `review`)",
        "29:85: `loop.history.review.0` has no field `feedbak` (did you mean `feedback`?)",
    ]


def test_a_repeated_producer_that_ignores_the_previous_round_is_warned(
    errors_of: Errors, warnings_of: Callable[..., list[str]]
) -> None:
    assert warnings_of(steps(LOOP % "Write (round {{ loop.iteration }})")) == [
        "29:14: step `draft` runs again in every round of loop `revise` but never reads the previous round, "
        "so it never sees what `review` said about it (add `{{ loop.previous.review.output.feedback }}` to "
        "its prompt (empty in the first round))"
    ]
    fixed = steps(LOOP % "Write. Feedback: {{ loop.previous.review.output.feedback }} "
                         "({{ count(loop.history.review) }} reviews so far)")
    assert errors_of(fixed) == [] and warnings_of(fixed) == []


def test_output_field_mistakes_are_located_and_explained(errors_of: Errors) -> None:
    bad = HEAD.replace("      nextStep: {optional: true}",
                       "      meta: {type: list, items: {type: object}}\n"
                       "      tags: {type: list, items: strin}\n"
                       "      bad-name: {}")
    assert errors_of(bad) == [
        "16:33: `agents.planner.output.meta.items`: an `object` field needs `fields`, e.g. "
        "`fields: {title: {}, score: {type: integer}}`",
        "17:33: `agents.planner.output.tags.items` cannot be 'strin': expected 'string', 'integer', "
        "'number' or 'boolean' (did you mean `string`?)",
        "18:7: `bad-name` is not a valid name in `agents.planner.output`: use letters, digits and "
        "underscores, starting with a letter",
    ]


def test_a_map_over_a_filtered_list_knows_its_items_fields(errors_of: Errors) -> None:
    text = steps(
        "  - id: each",
        "    type: map",
        "    over: '{{ filter(steps.plan.output.sections, it.level == \"high\") }}'",
        "    as: section",
        "    steps: [{id: do, type: agent, agent: w, prompt: 'Write {{ section.title }} {{ section.words }}'}]",
    )
    assert errors_of(text) == ["28:80: `section` has no field `words` (expected one of `level`, `title`, `wordCount`)"]
