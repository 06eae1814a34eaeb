"""Expressions for `until:` and `when:`: a whitelist over Python's ast, evaluated without eval."""

import pytest

from schemas.expressions import ExpressionError, evaluate, expression_references, parse_expression

CONTEXT = {
    "inputs": {"strict": True, "level": 3, "topic": "ocean tides"},
    "steps": {"review": {"output": {"approved": False, "score": 7, "tags": ["urgent", "billing"]}}},
    "loop": {"iteration": 2},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps.review.output.approved == true", False),
        ("steps.review.output.approved == false", True),
        ("steps.review.output.score >= 7 and inputs.strict", True),
        ("steps.review.output.score > 7 or loop.iteration >= 2", True),
        ("not steps.review.output.approved", True),
        ('"urgent" in steps.review.output.tags', True),
        ('"spam" not in steps.review.output.tags', True),
        ('steps.review.output.tags contains "billing"', True),
        ('inputs.topic contains "tides"', True),
        ("inputs.level in [1, 2, 3]", True),
        ("inputs.level != 3", False),
        ("(inputs.level == 3 or false) and not (loop.iteration < 1)", True),
        ("inputs.level == -3", False),
        ("steps.review.output.score == 7.0", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate(text, CONTEXT) is expected


@pytest.mark.parametrize(
    "text",
    [
        "steps.missing.output.approved == true",
        "steps.missing.output < 3",
        '"x" in steps.missing.output',
        "steps.missing.output contains 1",
        "inputs.topic > 3",
    ],
)
def test_missing_names_and_type_mismatches_are_false_not_errors(text: str) -> None:
    assert evaluate(text, CONTEXT) is False


def test_true_is_not_one() -> None:
    assert evaluate("inputs.flag == 1", {"inputs": {"flag": True}}) is False


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('__import__("os").system("x")', "not a function expressions know", 1),
        ("inputs.a + 1 > 2", "arithmetic", 1),
        ("inputs.a[inputs.b] == 1", "takes a whole number", 10),
        ("inputs.a is true", "`is` is not supported", 10),
        ("lambda: 1", "Lambda", 1),
        ("  inputs.a == (1 if true else 2)", "IfExp", 16),
        ("inputs.a ==", "cannot parse", None),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str, column: int | None) -> None:
    with pytest.raises(ExpressionError, match=message) as info:
        parse_expression(text)
    assert info.value.column == column
    assert isinstance(info.value, ValueError)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("(" * 1500 + "1" + ")" * 1500)


def test_expression_references_skip_literals() -> None:
    refs = expression_references("steps.review.output.approved == true and inputs.level in [1, null]")
    assert refs == [("steps", "review", "output", "approved"), ("inputs", "level")]


def test_parsed_expression_can_be_evaluated_again() -> None:
    expr = parse_expression("loop.iteration >= 3")
    assert [evaluate(expr, {"loop": {"iteration": n}}) for n in (1, 3)] == [False, True]
