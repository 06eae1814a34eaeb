"""Templates: plain dotted references, rendered from the run context."""

import pytest

from schemas.templates import Reference, TemplateError, TemplateSyntaxError, find_references, render, resolve

CONTEXT = {
    "inputs": {"topic": "tides", "count": 3},
    "steps": {
        "research": {"output": {"summary": "Moon pulls water.", "sources": ["a", "b"]}},
        "draft": {"output": "A short draft."},
    },
    "item": {"name": "oceans"},
    "loop": {"iteration": 2},
}


def test_find_references_gives_paths_and_offsets() -> None:
    text = "Write about {{ inputs.topic }} using {{steps.research.output.summary}}."
    refs = find_references(text)
    assert refs == [
        Reference(("inputs", "topic"), 12, 30),
        Reference(("steps", "research", "output", "summary"), 37, 70),
    ]
    assert text[refs[1].start : refs[1].end] == "{{steps.research.output.summary}}"


def test_item_and_loop_references() -> None:
    paths = [r.path for r in find_references("{{ item }} {{ item.name }} {{ loop.iteration }}")]
    assert paths == [("item",), ("item", "name"), ("loop", "iteration")]


@pytest.mark.parametrize(
    "text",
    [
        "{{ inputs.topic | upper }}",
        "{{ inputs.topic() }}",
        "{{ inputs['topic'] + 1 }}",
        "{{ open('x') }}",
        "{{ count(inputs.x, it, 2, 3) }}",
        "{{ }}",
        "{{ inputs.topic.__class__ + 1 }}",
        "{% for x in y %}{% endfor %}",
        "{# comment #}",
        "unclosed {{ inputs.topic",
    ],
)
def test_anything_but_a_dotted_name_is_a_syntax_error(text: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        find_references(text)


def test_syntax_error_is_a_value_error_with_a_hint() -> None:
    with pytest.raises(ValueError, match="dotted name"):
        find_references("{{ inputs.topic | upper }}")


def test_render_fills_strings_numbers_and_json() -> None:
    assert render("{{ inputs.topic }} x{{ inputs.count }}", CONTEXT) == "tides x3"
    assert render("{{ steps.research.output }}", CONTEXT) == (
        '{"summary":"Moon pulls water.","sources":["a","b"]}'
    )
    assert render("{{ steps.research.output.sources.1 }} / {{ item.name }}", CONTEXT) == "b / oceans"
    assert render("no references", CONTEXT) == "no references"


def test_render_missing_value_names_the_path() -> None:
    with pytest.raises(TemplateError, match="`steps.review.output` .*`steps.review` has no value"):
        render("{{ steps.review.output }}", CONTEXT)


def test_resolve_returns_raw_value_for_a_lone_reference() -> None:
    assert resolve("  {{ steps.research.output.sources }} ", CONTEXT) == ["a", "b"]
    assert resolve("{{ loop.iteration }}", CONTEXT) == 2
    assert resolve("n={{ loop.iteration }}", CONTEXT) == "n=2"
