"""Untrusted YAML: refused on the event stream before anything is built, always as an issue."""

from collections.abc import Callable

import pytest

from schemas import ConfigError, load_workflow, validate_text
from schemas.safe_yaml import read_untrusted


def test_size_cap_is_checked_before_parsing(errors_of: Callable[..., list[str]], minimal: str) -> None:
    text = minimal + "# " + "x" * 70_000 + "\n"
    assert errors_of(text) == ["1:1: config is larger than 64 KiB (split it or shorten long prompts)"]


def test_size_cap_counts_bytes_not_characters() -> None:
    assert read_untrusted("a: " + "é" * 40_000).problems[0].message == "config is larger than 64 KiB"


@pytest.mark.parametrize("text", ["a: " + "[" * 30_000, "a: " + "{a: " * 15_000, "- " * 30_000])
def test_deep_nesting_is_refused_at_the_cap(text: str) -> None:
    report = validate_text(text, "deep.yaml")
    assert [str(i) for i in report.errors][0].startswith("deep.yaml:1:")
    assert "nested deeper than 64 levels" in report.errors[0].message


def test_hundred_thousand_deep_never_crashes_even_without_the_size_cap() -> None:
    doc = read_untrusted("[" * 100_000, max_bytes=10**6)
    assert [p.message for p in doc.problems] == ["config is nested deeper than 64 levels"]
    assert (doc.problems[0].line, doc.problems[0].column) == (1, 257)  # cheap pre-scan, 4x margin


def test_the_exact_depth_cap_is_enforced_on_the_event_stream() -> None:
    assert read_untrusted("[" * 64 + "]" * 64).problems == []
    problems = read_untrusted("x:\n  " + "[" * 100 + "]" * 100).problems
    assert [(p.line, p.column, p.message) for p in problems] == [
        (2, 66, "config is nested deeper than 64 levels")
    ]


def test_anchors_and_aliases_are_refused(errors_of: Callable[..., list[str]], minimal: str) -> None:
    text = minimal.replace("role: Writer", "role: &r Writer\n    goal: *r")
    assert errors_of(text) == [
        "5:11: anchors (`&r`) are not allowed (remove the anchor)",
        "6:11: aliases (`*r`) are not allowed (repeat the value instead)",
    ]


def test_an_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    report = validate_text("\n".join(lines))
    assert not report.ok
    assert all("anchors" in i.message or "aliases" in i.message for i in report.errors)


@pytest.mark.parametrize(
    "tagged",
    ["!!python/object/apply:os.system ['echo hi']", "!!python/name:os.system", "!custom x", "!!str 5"],
)
def test_tags_are_refused(errors_of: Callable[..., list[str]], minimal: str, tagged: str) -> None:
    errors = errors_of(minimal.replace("prompt: Write.", f"prompt: {tagged}"))
    assert len(errors) == 1 and errors[0].startswith("10:13: tags (`")


def test_one_document_only(errors_of: Callable[..., list[str]], minimal: str) -> None:
    assert errors_of(minimal + "---\n" + minimal) == [
        "11:1: a config holds one YAML document; remove the `---` separator"
    ]


def test_duplicate_keys_are_refused(errors_of: Callable[..., list[str]], minimal: str) -> None:
    text = minimal.replace("    role: Writer\n", "    role: Writer\n    role: Editor\n")
    assert errors_of(text) == ["6:5: duplicate key `role` (keep only one of them)"]


def test_syntax_errors_have_a_position(errors_of: Callable[..., list[str]]) -> None:
    assert errors_of("version: 1\nname: [demo\n") == [
        "2:7: the `[` opened here is never closed (or an item lacks a comma) "
        "(add `]` after the last item, and commas between items)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "1:1: config is empty, not a mapping"),
        ("- a\n- b\n", "1:1: config is a list, not a mapping"),
        ("just words", "1:1: config is a str, not a mapping"),
    ],
)
def test_the_top_level_must_be_a_mapping(
    errors_of: Callable[..., list[str]], text: str, message: str
) -> None:
    assert errors_of(text) == [f"{message} (start with `version: 2`, `name`, `agents` and `steps`)"]


@pytest.mark.parametrize(
    "junk", ["\x00\x01\x02", "\ufeff\ud800", "? [a]\n: b", "a: b: c", "{" * 10 + "}" * 11]
)
def test_junk_is_a_config_error_not_a_crash(junk: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_workflow(junk)
    assert info.value.issues


def test_scalars_follow_yaml_1_2() -> None:
    data = read_untrusted("a: yes\nb: on\nc: 0x1f\nd: 1_000\ne: .inf\nf: null\ng: '5'\nh: 017").data
    assert data == {
        "a": "yes",
        "b": "on",
        "c": 31,
        "d": 1000,
        "e": float("inf"),
        "f": None,
        "g": "5",
        "h": 17,
    }


def test_the_pure_python_parser_gives_the_same_result(monkeypatch: pytest.MonkeyPatch, minimal: str) -> None:
    """Without libyaml the loader falls back to ruamel's pure parser, with the same checks."""
    import schemas.safe_yaml as safe_yaml

    text = minimal.replace("role: Writer", "role: &r Writer") + "x: !!python/name:os.system\n"
    fast = safe_yaml.read_untrusted(text)
    monkeypatch.setattr(safe_yaml, "_LIBYAML", False)
    pure = safe_yaml.read_untrusted(text)
    assert pure == fast
    assert [p.message for p in pure.problems] == [
        "anchors (`&r`) are not allowed",
        "tags (`tag:yaml.org,2002:python/name:os.system`) are not allowed",
    ]
    assert safe_yaml.read_untrusted("[" * 100).problems[0].message == "config is nested deeper than 64 levels"
