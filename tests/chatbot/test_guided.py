"""The guided form builds every pattern from short answers, and the result always validates."""

from __future__ import annotations

import pytest

from chatbot import PATTERNS, ChatState, guided_turn, start_guided
from chatbot.state import KEY_REMOVED
from schemas import load_workflow
from schemas.models import HttpTool, LoopStep, MapStep, ParallelStep, PythonTool, RouteStep, SupervisorStep


def _answer_all_with_defaults(state: ChatState, choice: str) -> None:
    reply = guided_turn(state, choice).reply
    for _ in range(20):
        if "Build this config?" in reply:
            break
        reply = guided_turn(state, "yes").reply
    done = guided_turn(state, "yes")
    assert done.errors == []
    assert "ready to run" in done.reply


def test_it_says_it_is_a_form_and_offers_every_pattern() -> None:
    state = ChatState()
    first = start_guided(state)
    assert first.reply.startswith("Guided mode (no AI model configured)")
    for number, pattern in enumerate(PATTERNS, start=1):
        assert f"{number}. **{pattern.title}**" in first.reply
    assert len(PATTERNS) == 11


@pytest.mark.parametrize("number", range(1, len(PATTERNS) + 1), ids=[p.key for p in PATTERNS])
def test_each_pattern_builds_a_valid_commented_config(number: int) -> None:
    state = ChatState()
    start_guided(state)
    _answer_all_with_defaults(state, str(number))
    workflow = load_workflow(state.draft_yaml)
    assert state.draft_yaml.startswith("# yaml-language-server: $schema=")
    assert "# Built with the guided form" in state.draft_yaml
    assert "agents:  # The agents, by name." in state.draft_yaml
    assert workflow.name == PATTERNS[number - 1].name
    assert workflow.limits.max_cost_usd == 0.5


@pytest.mark.parametrize("number", range(1, len(PATTERNS) + 1), ids=[p.key for p in PATTERNS])
def test_every_input_gets_a_default_so_the_first_run_needs_no_typing(number: int) -> None:
    state = ChatState()
    reply = guided_turn(state, str(number)).reply
    for _ in range(3):
        if "leaves it empty" in reply:
            break
        reply = guided_turn(state, "yes").reply
    assert f"default: **{PATTERNS[number - 1].sample}**" in reply, "the form proposes a sample value"
    _answer_all_with_defaults(state, "yes")
    workflow = load_workflow(state.draft_yaml)
    assert [spec.default for spec in workflow.inputs.values()] == [PATTERNS[number - 1].sample]


def test_patterns_use_the_step_kinds_they_promise() -> None:
    kinds = {}
    for number, pattern in enumerate(PATTERNS, start=1):
        state = ChatState()
        _answer_all_with_defaults(state, str(number))
        kinds[pattern.key] = load_workflow(state.draft_yaml)
    assert isinstance(kinds["parallel"].steps[0], ParallelStep)
    assert isinstance(kinds["router"].steps[0], RouteStep)
    assert isinstance(kinds["review_loop"].steps[0], LoopStep)
    assert kinds["approval"].steps[1].type == "approval"
    assert isinstance(kinds["supervisor"].steps[0], SupervisorStep)
    assert isinstance(kinds["map"].steps[1], MapStep)
    assert isinstance(kinds["code_tool"].tools["python"], PythonTool)
    assert isinstance(kinds["http_tool"].tools["wikipedia"], HttpTool)


def test_answers_shape_the_config() -> None:
    state = ChatState()
    guided_turn(state, "review loop")
    for answer in ("essay-checker", "Essay Title", "Sleep", "Author", "Critic", "short and polite", "4",
                   "openai/gpt-4o-mini", "$2"):
        result = guided_turn(state, answer)
        assert result.errors == [], result.errors
    guided_turn(state, "yes")
    workflow = load_workflow(state.draft_yaml)
    loop = workflow.steps[0]
    assert isinstance(loop, LoopStep) and loop.max_iterations == 4
    assert set(workflow.agents) == {"author", "critic"}
    assert set(workflow.inputs) == {"essay_title"}
    assert workflow.inputs["essay_title"].default == "Sleep"
    assert workflow.default_model == "openai/gpt-4o-mini"
    assert workflow.limits.max_cost_usd == 2


def test_the_draft_grows_after_every_answer_with_a_diff() -> None:
    state = ChatState()
    guided_turn(state, "1")
    first = state.draft_yaml
    result = guided_turn(state, "market-notes")
    assert "name: market-notes" in result.yaml
    assert "-name: research-brief" in result.diff and "+name: market-notes" in result.diff
    assert first != state.draft_yaml
    assert result.estimate is not None and "tokens" in result.estimate


def test_back_returns_to_the_previous_question_and_forgets_its_answer() -> None:
    state = ChatState()
    guided_turn(state, "sequential")
    guided_turn(state, "my-flow")
    asked = guided_turn(state, "back").reply
    assert "Question 1 of" in asked and "called" in asked
    assert "name" not in state.guided.answers
    guided_turn(state, "other-flow")
    assert load_workflow(state.draft_yaml).name == "other-flow"


def test_back_from_the_first_question_returns_to_the_pattern_menu() -> None:
    state = ChatState()
    guided_turn(state, "2")
    assert "Which pattern fits best?" in guided_turn(state, "back").reply
    assert state.guided.pattern is None


def test_skip_keeps_the_default_and_leaves_optional_values_unset() -> None:
    state = ChatState()
    guided_turn(state, "code tool")
    reply = ""
    for _ in range(10):
        if "Which model" in reply:
            break
        reply = guided_turn(state, "skip").reply
    guided_turn(state, "skip")
    guided_turn(state, "skip")
    guided_turn(state, "yes")
    workflow = load_workflow(state.draft_yaml)
    assert workflow.default_model is None
    assert workflow.tools["python"].timeout == 10


def test_bad_answers_are_explained_and_asked_again() -> None:
    state = ChatState()
    guided_turn(state, "review loop")
    for _ in range(6):
        guided_turn(state, "yes")
    position = state.guided.position
    result = guided_turn(state, "lots")
    assert "number between 1 and 50" in result.reply
    assert state.guided.position == position
    assert "number between 1 and 50" in guided_turn(state, "99").reply


def test_an_http_tool_needs_a_real_url_pattern() -> None:
    state = ChatState()
    guided_turn(state, "http")
    for _ in range(3):  # name, input, its sample value
        guided_turn(state, "yes")
    guided_turn(state, "docs")
    assert "URL pattern" in guided_turn(state, "the docs site").reply
    guided_turn(state, "https://docs.python.org/3/*")
    assert load_workflow(state.draft_yaml).tools["docs"].allow == ["https://docs.python.org/3/*"]


def test_unknown_pattern_choice_shows_the_menu_again() -> None:
    state = ChatState()
    result = guided_turn(state, "42")
    assert result.reply.startswith("Guided mode (no AI model configured)")
    assert "number from 1 to 11 or a name" in result.reply
    assert "Guided mode" not in guided_turn(state, "43").reply
    assert state.draft_yaml == ""


def test_restart_starts_over() -> None:
    state = ChatState()
    _answer_all_with_defaults(state, "3")
    assert "Which pattern fits best?" in guided_turn(state, "restart").reply
    assert state.guided.pattern is None


def test_a_pasted_key_is_never_stored() -> None:
    state = ChatState()
    guided_turn(state, "1")
    key = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    result = guided_turn(state, key)
    assert "Settings" in result.reply
    assert key not in repr(state.to_dict())
    assert state.messages[-2].content == KEY_REMOVED


def _kinds(workflow) -> set[str]:
    found = {f"tool:{tool.type}" for tool in workflow.tools.values()}

    def walk(steps) -> None:
        for step in steps:
            found.add(step.type)
            for child in ("branches", "steps", "default"):
                walk(getattr(step, child, None) or [])
            for case in getattr(step, "cases", None) or []:
                walk(case.steps)

    walk(workflow.steps)
    return found


def test_every_example_has_a_pattern_that_builds_its_kinds_of_step_and_tool() -> None:
    from pathlib import Path

    built = []
    for number in range(1, len(PATTERNS) + 1):
        state = ChatState()
        _answer_all_with_defaults(state, str(number))
        built.append(_kinds(load_workflow(state.draft_yaml)))
    examples = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
    assert examples
    for path in examples:
        needed = _kinds(load_workflow(path.read_text()))
        assert any(needed <= kinds for kinds in built), f"{path.name} needs {sorted(needed)}"


def test_switching_modes_keeps_the_forms_progress() -> None:
    state = ChatState()
    guided_turn(state, "map")
    guided_turn(state, "topic-mapper")
    state.mode = "llm"  # the user tried the assistant, then came back
    guided_turn(state, "subject")
    assert state.mode == "guided" and state.guided.answers["input"] == "subject"


# ---- free text: the placeholder invites a sentence, so the form reads one ---------------------------------
@pytest.mark.parametrize(("text", "pattern"), [
    ("Research a topic, then write a short brief", "sequential"),  # the message box's own example
    ("A manager who delegates parts of the job to a small team", "supervisor"),
    ("Classify support tickets and route them to the right person", "router"),
    ("Write a draft, have a critic review it and revise until it is good", "review_loop"),
    ("Fetch a Wikipedia page and summarise it", "http_tool"),
])
def test_a_description_picks_the_pattern_it_describes(text: str, pattern: str) -> None:
    state = ChatState()
    start_guided(state)
    guided_turn(state, text)
    assert state.guided.pattern == pattern


def test_a_description_that_fits_no_pattern_says_what_is_expected() -> None:
    state = ChatState()
    start_guided(state)
    reply = guided_turn(state, "Something nice for my grandmother").reply
    assert state.guided.pattern is None
    assert "number from 1 to 11 or a name" in reply and "Which pattern fits best?" in reply


def _at(state: ChatState, pattern: str, question: str) -> None:
    reply = guided_turn(state, pattern).reply
    for _ in range(12):
        if question in reply:
            return
        reply = guided_turn(state, "yes").reply
    raise AssertionError(f"never asked {question!r}")


def test_answers_are_read_from_sentences_when_they_fit() -> None:
    state = ChatState()
    _at(state, "review loop", "how many rounds")
    guided_turn(state, "Let's allow at most 4 rounds please")
    assert state.guided.answers["max_iterations"] == "4"
    guided_turn(state, "we should use openai/gpt-4o-mini for everything")
    assert state.guided.answers["model"] == "openai/gpt-4o-mini"
    guided_turn(state, "yes please")
    assert state.guided.answers["budget"] == "0.5"
    assert "ready to run" in guided_turn(state, "yes, build it").reply


def test_names_are_read_from_a_sentence() -> None:
    state = ChatState()
    _at(state, "sequential", "Which agents")
    guided_turn(state, "a researcher, then a fact checker and finally an editor")
    assert state.guided.answers["agents"] == "researcher, fact_checker, editor"


def test_a_sentence_that_does_not_fit_says_what_the_question_expects() -> None:
    state = ChatState()
    _at(state, "review loop", "What should the workflow be called")
    position = state.guided.position
    reply = guided_turn(state, "I think it should be something about essays for my school class").reply
    assert "short name of a few words" in reply and state.guided.position == position
    _at(state, "", "how many rounds")
    reply = guided_turn(state, "between 3 and 5 I guess").reply
    assert "number between 1 and 50" in reply


def test_an_http_tool_for_an_api_names_its_secret_and_binds_it_to_the_host() -> None:
    state = ChatState()
    reply = guided_turn(state, "http").reply
    answers = {"Name the HTTP tool": "search", "Which URLs may it fetch": "https://google.serper.dev/search",
               "Does the API need a key": "serper api key"}
    for _ in range(20):
        if "Build this config?" in reply:
            break
        if "Does the API need a key" in reply:
            assert "Give the secret's name" in guided_turn(state, "sk-live 123 secret!").reply  # a value, refused
        reply = guided_turn(state, next((a for q, a in answers.items() if q in reply), "yes")).reply
    assert guided_turn(state, "yes").errors == []
    tool = load_workflow(state.draft_yaml).tools["search"]
    assert tool.headers == {"X-API-KEY": "{{ secrets.SERPER_API_KEY }}"}
    assert tool.secrets == {"SERPER_API_KEY": ["google.serper.dev"]}
def test_the_sequential_form_can_save_the_result_as_a_file() -> None:
    state = ChatState()
    guided_turn(state, "sequential")
    replies = []
    for answer in ("yes", "yes", "yes", "yes", "yes", "../notes.md", "report.md", "yes", "yes", "yes"):
        replies.append(guided_turn(state, answer).reply)
    assert "plain file name such as `report.md`" in replies[5]
    workflow = load_workflow(state.draft_yaml)
    assert workflow.steps[-1].artifact is not None and workflow.steps[-1].artifact.name == "report.md"


def test_the_supervisor_pattern_asks_whether_workers_share_the_conversation() -> None:
    state = ChatState()
    reply = guided_turn(state, "supervisor").reply
    for _ in range(12):
        if "whole conversation" in reply:
            break
        reply = guided_turn(state, "yes").reply
    assert "whole conversation" in reply
    guided_turn(state, "shared")
    for _ in range(6):
        if state.draft_yaml:
            break
        guided_turn(state, "yes")
    assert load_workflow(state.draft_yaml).steps[0].conversation == "shared"
