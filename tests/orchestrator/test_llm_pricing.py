"""Cost from LiteLLM's bundled price map: priced, unpriced and local models."""

from __future__ import annotations

import pytest

from orchestrator.pricing import Cost, cost_of, count_prompt_tokens, count_text_tokens


def test_a_priced_model_costs_its_list_price() -> None:
    cost = cost_of("openai/gpt-4o-mini", 1_000_000, 0)
    assert not cost.unpriced and cost.usd == pytest.approx(0.15, rel=0.5)  # ~$0.15 per 1M input tokens
    assert cost_of("openai/gpt-4o-mini", 1000, 1000).usd > cost_of("openai/gpt-4o-mini", 1000, 0).usd


def test_an_unknown_model_is_free_but_flagged() -> None:
    assert cost_of("openai/some-private-finetune", 1000, 1000) == Cost(0.0, True)


def test_an_inference_providers_model_without_a_price_is_unpriced_not_free() -> None:
    # LiteLLM itself answers 0 for any `huggingface/` model it has no price for
    assert cost_of("huggingface/Qwen/Qwen2.5-7B-Instruct", 1000, 1000) == Cost(0.0, True)


@pytest.mark.parametrize("model", ["offline/synthetic", "ollama_chat/llama3.2", "ollama/qwen2.5:0.5b"])
def test_local_models_are_free_and_known_to_be(model: str) -> None:
    assert cost_of(model, 5000, 5000) == Cost(0.0, False)


def test_token_counting_works_offline_for_any_model() -> None:
    messages = [{"role": "user", "content": "Count these few words please"}]
    assert count_prompt_tokens("openai/gpt-4o-mini", messages) >= 5
    assert count_prompt_tokens("mystery/model", messages) >= 5
    assert count_text_tokens("openai/gpt-4o-mini", "hello world") == 2
    assert count_text_tokens("openai/gpt-4o-mini", "") == 0
