"""YAML syntax errors say what is wrong in plain words, on the line where the mistake starts.

A parser notices a bad indentation on the next token it cannot place, often the line after the
mistake, in its own terms ("mapping values are not allowed in this context"). Each case below breaks
one line of a valid config and checks the report names the broken line and the kind of mistake.
"""

from __future__ import annotations

import pytest

from schemas import validate_text
from schemas.safe_yaml import read_untrusted

CONFIG = """\
version: 1
name: demo
inputs:
  topic:
    type: text
    default: tides
agents:
  writer:
    role: Writer
    model: openai/x
steps:
  - id: write
    type: agent
    agent: writer
    prompt: |
      Write about
      the topic.
  - id: two
    type: agent
    agent: writer
    prompt: Again.
"""


def _break(line: int, new_text: str) -> str:
    lines = CONFIG.splitlines()
    lines[line - 1] = new_text
    return "\n".join(lines) + "\n"


def _indent(line: int, spaces: int) -> str:
    return _break(line, " " * spaces + CONFIG.splitlines()[line - 1].lstrip())


def _only_error(text: str) -> tuple[int, str]:
    report = validate_text(text, "w.yaml")
    assert len(report.errors) == 1, [str(e) for e in report.errors]
    error = report.errors[0]
    return error.line, f"{error.message} ({error.fix})"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(_break(5, "\ttype: text"), 5, "tab", id="tab-indents-a-key"),
        pytest.param(_break(6, "  \tdefault: tides"), 6, "tab", id="tab-after-spaces"),
        pytest.param(_break(13, "\ttype: agent"), 13, "tab", id="tab-in-a-list-item"),
        pytest.param(_indent(5, 3), 5, "indentation", id="first-key-of-a-block-dedented"),
        pytest.param(_indent(5, 2), 5, "indentation", id="key-dedented-to-its-parent"),
        pytest.param(_indent(9, 2), 9, "indentation", id="agent-key-dedented-to-its-parent"),
        pytest.param(_indent(6, 3), 6, "indentation", id="second-key-dedented"),
        pytest.param(_indent(6, 5), 6, "indentation", id="second-key-over-indented"),
        pytest.param(_indent(10, 6), 10, "indentation", id="over-indented-by-a-level"),
        pytest.param(_indent(4, 5), 4, "indentation", id="block-start-over-indented"),
        pytest.param(_indent(1, 1), 1, "indentation", id="indented-first-line"),
        pytest.param(_indent(13, 2), 13, "indentation", id="key-lined-up-with-the-dashes"),
        pytest.param(_indent(14, 3), 14, "indentation", id="item-key-dedented"),
        pytest.param(_indent(18, 4), 18, "indentation", id="dash-lined-up-with-keys"),
        pytest.param(_indent(12, 3), 12, "indentation", id="list-item-over-indented"),
        pytest.param(_indent(17, 4), 17, "indentation", id="block-text-line-dedented"),
        pytest.param(_break(9, '    role: "Writer'), 9, "never closed", id="unclosed-double-quote"),
        pytest.param(_break(21, "    prompt: 'Again."), 21, "never closed", id="unclosed-single-quote"),
        pytest.param(_break(2, "name: [demo, other"), 2, "never closed", id="unclosed-bracket"),
        pytest.param(_break(2, "name: {a: 1"), 2, "never closed", id="unclosed-brace"),
        pytest.param(_break(9, "    role Writer"), 9, "no `:`", id="missing-colon"),
        pytest.param(_break(21, "    prompt: Again: and again."), 21, "contains `: `", id="colon-in-a-value"),
    ],
)
def test_the_error_names_the_mistake_on_the_line_where_it_starts(text: str, line: int, words: str) -> None:
    reported_line, message = _only_error(text)
    assert (reported_line, words in message) == (line, True), message
    assert "mapping values are not allowed" not in message
    assert "YAML syntax error" not in message, "the parser's own wording is the fallback only"


def test_a_dedented_key_is_explained_not_reported_on_the_next_line() -> None:
    """The issue's own example: `type:` dedented under `topic:` was blamed on `default:` below it."""
    line, message = _only_error(_indent(5, 2))
    assert line == 5
    assert message.startswith("wrong indentation: this line is not indented under line 4")
    assert "indent it by 4 spaces" in message


def test_a_tab_is_called_a_tab_and_located_at_the_tab() -> None:
    problem = read_untrusted(_break(6, "    \tdefault: tides")).problems[0]
    assert (problem.line, problem.column, problem.fix) == (6, 5, "replace the tab with spaces")
    assert "tab" in problem.message and "spaces only" in problem.message


def test_an_unclosed_quote_points_at_the_quote_not_the_end_of_the_file() -> None:
    problem = read_untrusted(_break(9, '    role: "Writer')).problems[0]
    assert (problem.line, problem.column) == (9, 11)
    assert problem.message == 'this quote (") is never closed'


def test_what_cannot_be_explained_keeps_the_parsers_words_and_position() -> None:
    problem = read_untrusted("a: @x\n").problems[0]
    assert problem.message.startswith("YAML syntax error: ")
    assert problem.line >= 1 and problem.column >= 1
