"""Cost estimates from the config: priced models, loops, unpriced models and limits."""

from __future__ import annotations

from pathlib import Path

from chatbot import estimate_cost, yaml_diff
from chatbot.estimate import ANSWER_TOKENS
from schemas import load_workflow_file
from schemas.models import Workflow
from tests.chatbot.conftest import brief_config


def _workflow(config: dict) -> Workflow:
    return Workflow.model_validate(config)


def test_a_priced_model_costs_money_and_states_its_assumptions() -> None:
    estimate = estimate_cost(_workflow(brief_config()), default_model="openai/gpt-4o-mini")
    assert estimate.expected.calls == 2 and estimate.tokens > 2 * ANSWER_TOKENS
    assert 0 < estimate.cost_usd < 0.01 and estimate.unpriced == []
    assert estimate.worst_tokens == estimate.tokens  # nothing repeats
    text = estimate.to_markdown()
    assert "Estimate per run" in text and "Assumptions" in text and "4 characters per token" in text


def test_loops_give_a_worst_case_at_their_maximum() -> None:
    config = brief_config()
    config["steps"] = [{"id": "again", "type": "loop", "steps": config["steps"], "until": "false",
                        "max_iterations": 10}]
    estimate = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    assert estimate.expected.calls == 4 and estimate.worst.calls == 20
    assert estimate.worst_cost_usd > 4 * estimate.cost_usd


def test_a_map_pays_for_its_whole_body_once_per_item() -> None:
    config = brief_config()  # two agent steps
    config["steps"] = [{"id": "each", "type": "map", "over": "{{ inputs.topic }}", "max_items": 8,
                        "steps": config["steps"]}]
    estimate = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    assert estimate.worst.calls == 8 * 2 and 2 <= estimate.expected.calls < 16


def test_retried_steps_pay_for_every_attempt_in_the_worst_case() -> None:
    config = brief_config()
    plain = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    config["steps"][0]["retry"] = {"attempts": 3}
    retried = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    assert retried.expected.calls == plain.expected.calls
    assert retried.worst.calls == plain.worst.calls + 2


def test_unpriced_models_are_named_and_aliases_resolved() -> None:
    config = brief_config()
    config["models"] = {"cheap": {"model": "openai/gpt-4o-mini", "max_tokens": 100}}
    config["agents"]["writer"]["model"] = "cheap"
    estimate = estimate_cost(_workflow(config), default_model="openai/my-private-model")
    assert estimate.unpriced == ["openai/my-private-model"]
    assert estimate.expected.by_model["openai/gpt-4o-mini"][2] == 100
    assert "`openai/my-private-model`" in estimate.to_markdown()


def test_a_worst_case_above_the_limits_is_flagged() -> None:
    config = brief_config()
    config["steps"] = [{"id": "again", "type": "loop", "steps": config["steps"], "until": "false",
                        "max_iterations": 50}]
    config["limits"] = {"max_tokens": 1000, "max_steps": 20}
    warnings = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini").warnings
    assert any("limits.max_tokens" in w for w in warnings)
    assert any("limits.max_steps" in w for w in warnings)


def test_yaml_diff_is_short_and_empty_without_changes() -> None:
    assert yaml_diff("a: 1\n", "a: 1\n") == ""
    diff = yaml_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n")
    assert "-b: 2" in diff and "+b: 3" in diff
    long = yaml_diff("", "\n".join(f"k{i}: {i}" for i in range(200)))
    assert long.count("\n") <= 61 and "more diff lines" in long


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_team_costs_its_steps_for_every_delegation_it_may_get() -> None:
    wf = load_workflow_file(EXAMPLES / "team_of_teams.yaml")
    with_teams = estimate_cost(wf, default_model="openai/gpt-4o-mini")
    wf.steps[0].teams[1].steps = wf.steps[0].teams[1].steps[:1]  # without the writing team's own supervisor
    without = estimate_cost(wf, default_model="openai/gpt-4o-mini")
    assert without.worst.calls == (1 + 3) + 3 * 2  # manager rounds; worst: each delegation to the two-step team
    assert with_teams.worst.calls > without.worst.calls and with_teams.worst_tokens > with_teams.tokens


def test_workers_sharing_the_conversation_read_more_tokens() -> None:
    config = {"version": 2, "name": "s", "agents": {"m": {"role": "M"}, "a": {"role": "A"}, "b": {"role": "B"}},
              "steps": [{"id": "s", "type": "supervisor", "manager": "m", "workers": ["a", "b"], "task": "t"}]}
    isolated = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    config["steps"][0]["conversation"] = "shared"
    shared = estimate_cost(_workflow(config), default_model="openai/gpt-4o-mini")
    assert shared.worst.calls == isolated.worst.calls and shared.worst_tokens > isolated.worst_tokens
