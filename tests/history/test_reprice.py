"""Re-pricing recorded calls on another model: LiteLLM's own prices, per day and per step, unpriced
models named (never 0), the same figures from the SQL box and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from history.prices import price_of
from history.queries import Filters
from history.reprice import Unpriced, reprice
from history.sql_box import run_sql
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import DAY, T0

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini", "gpt-4.1", "anthropic/claude-sonnet-4-5",
          "gemini/gemini-2.5-pro", "mistral/mistral-large-latest", "deepseek/deepseek-chat"]  # fmt: skip
# (day, step, model, tokens in, tokens out, unpriced); the 300k prompt crosses gemini-2.5-pro's 200k tier
CALLS = [
    (0, "triage", "openai/gpt-4o-mini", 1_000, 200, False),
    (0, "triage", "openai/gpt-4o-mini", 3_000, 400, False),
    (0, "write", "ollama_chat/llama3", 2_000, 900, False),
    (1, "write", "my-own/finetune", 5_000, 1_000, True),
    (1, "triage", "openai/gpt-4o-mini", 300_000, 1_000, False),
]


def _litellm_cost(model: str, tokens_in: int, tokens_out: int) -> float:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    prompt, completion = litellm.cost_per_token(model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out)
    return prompt + completion


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(("tokens_in", "tokens_out"), [(1_000, 500), (250_000, 2_000), (0, 0)])
def test_a_price_is_litellms_cost_per_token(model: str, tokens_in: int, tokens_out: int) -> None:
    price = price_of(model)
    assert price is not None
    assert price.cost(tokens_in, tokens_out) == pytest.approx(_litellm_cost(model, tokens_in, tokens_out), rel=1e-12)


def test_models_without_a_per_token_price_are_none_and_local_ones_free() -> None:
    assert price_of("openai/no-such-model") is None
    assert price_of("ollama_chat/llama3").cost(10_000, 10_000) == 0.0


@pytest.fixture
def priced_store(store: HistoryStore) -> HistoryStore:
    """Alice's calls above over two days, and one of bob's that she must never see re-priced."""
    for owner, calls in (("alice", CALLS), ("bob", [(0, "triage", "openai/gpt-4o", 9_999, 9_999, False)])):
        run_id = f"{owner}-run"
        store.record(ev.RunStarted(run_id=run_id, workflow="triage", owner=owner, ts=T0, seq=1))
        for n, (day, step, model, tin, tout, unpriced) in enumerate(calls):
            cost = 0.0 if unpriced or model.startswith("ollama") else _litellm_cost(model, tin, tout)
            store.record(ev.LLMCall(run_id=run_id, seq=n + 2, ts=T0 + day * DAY + n, step_id=step, model=model,
                                    provider=model.split("/")[0], tokens_in=tin, tokens_out=tout, cost_usd=cost,
                                    unpriced=unpriced))
    store.flush(10)
    return store


def test_every_call_is_repriced_per_day_and_per_step_and_unpriced_models_are_named(priced_store) -> None:
    result = reprice(priced_store.read_cursor(), Filters(owner="alice"), "gemini/gemini-2.5-pro")

    per_call = [_litellm_cost("gemini/gemini-2.5-pro", tin, tout) for _, _, _, tin, tout, _ in CALLS]
    by_day = result.by_day.set_index("day")
    assert by_day.loc["2026-09-21", "alternative_usd"] == pytest.approx(sum(per_call[:3]))
    assert by_day.loc["2026-09-22", "alternative_usd"] == pytest.approx(sum(per_call[3:]))
    actual_day1 = _litellm_cost("openai/gpt-4o-mini", 300_000, 1_000)  # the unpriced call adds nothing known
    assert by_day.loc["2026-09-22", "actual_usd"] == pytest.approx(actual_day1)
    assert by_day["unpriced_calls"].tolist() == [0, 1]
    assert result.unpriced_models == {"my-own/finetune": 1}

    steps = result.by_step.set_index("step_id")
    assert steps.loc["triage", "alternative_usd"] == pytest.approx(per_call[0] + per_call[1] + per_call[4])
    assert steps.loc["write", "models"] == "my-own/finetune, ollama_chat/llama3"
    assert steps.loc["write", "actual_usd"] == 0.0  # the local model: known to be free, not unknown
    assert result.alternative_usd == pytest.approx(sum(per_call))  # bob's call is not in it


def test_a_group_of_only_unpriced_calls_has_no_actual_cost_rather_than_zero(priced_store) -> None:
    result = reprice(priced_store.read_cursor(), Filters(owner="alice", model="my-own/finetune"), "openai/gpt-4o")
    assert result.by_day["actual_usd"].isna().all() and result.by_day["unpriced_calls"].tolist() == [1]
    assert result.actual_usd is None
    assert result.alternative_usd == pytest.approx(_litellm_cost("openai/gpt-4o", 5_000, 1_000))


def test_an_unpriced_alternative_is_refused_by_name(priced_store) -> None:
    with pytest.raises(Unpriced, match="`my-own/finetune` has no per-token price"):
        reprice(priced_store.read_cursor(), Filters(owner="alice"), "my-own/finetune")


def test_the_sql_box_prices_calls_with_model_prices_and_call_cost(priced_store) -> None:
    cur = priced_store.read_cursor()
    expected = reprice(cur, Filters(owner="alice"), "gemini/gemini-2.5-pro").alternative_usd
    macro = run_sql(cur, "SELECT sum(call_cost('gemini/gemini-2.5-pro', tokens_in, tokens_out)) AS usd FROM llm_calls",
                    "alice")
    assert macro.frame["usd"][0] == pytest.approx(expected)
    joined = run_sql(cur, "SELECT sum(c.tokens_in * p.input_cost_per_token + c.tokens_out * p.output_cost_per_token)"
                          " AS usd FROM llm_calls c JOIN model_prices p ON p.model = 'gpt-4.1'", "alice")
    spent_in = sum(c[3] for c in CALLS)
    spent_out = sum(c[4] for c in CALLS)
    assert joined.frame["usd"][0] == pytest.approx(_litellm_cost("gpt-4.1", spent_in, spent_out))
    unknown = run_sql(cur, "SELECT call_cost('my-own/finetune', 10, 10) AS usd", "alice")
    assert unknown.frame["usd"].isna().all()


def test_the_cli_prints_actual_and_alternative_and_names_the_unpriced(priced_store, data_dir: Path) -> None:
    priced_store.close()
    env = {**os.environ, "USER": "alice"}
    done = subprocess.run([sys.executable, "-m", "graphwright", "reprice", "--model", "openai/gpt-4o",
                           "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "2026-09-21" in done.stdout and "triage" in done.stdout
    assert "unpriced: my-own/finetune (1 call: its actual cost is unknown, not 0)" in done.stdout
    refused = subprocess.run([sys.executable, "-m", "graphwright", "reprice", "--model", "nope/nothing",
                              "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=120,
                             cwd=ROOT)
    assert refused.returncode == 2 and "`nope/nothing` has no per-token price" in refused.stderr


def test_a_config_version_selects_its_runs_calls_also_by_hash_prefix_in_the_cli(store: HistoryStore,
                                                                                  data_dir: Path) -> None:
    for n, (version, tokens) in enumerate((("a1" * 32, 1_000), ("b2" * 32, 7_000))):
        run_id = f"run-{n}"
        store.record(ev.RunStarted(run_id=run_id, workflow="triage", owner="alice", ts=T0, seq=1, config_hash=version))
        store.record(ev.LLMCall(run_id=run_id, seq=2, ts=T0 + 1, step_id="s", model="openai/gpt-4o-mini",
                                provider="openai", tokens_in=tokens, tokens_out=0, cost_usd=0.0))
    store.flush(10)
    result = reprice(store.read_cursor(), Filters(owner="alice", version="b2" * 32), "openai/gpt-4o")
    assert result.by_step["tokens_in"].tolist() == [7_000]
    store.close()
    done = subprocess.run([sys.executable, "-m", "graphwright", "reprice", "--model", "openai/gpt-4o", "--version",
                           "b2b2", "--data-dir", str(data_dir)], env={**os.environ, "USER": "alice"},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "7000" in done.stdout and "1000" not in done.stdout
    vague = subprocess.run([sys.executable, "-m", "graphwright", "reprice", "--model", "openai/gpt-4o", "--version",
                            "c3", "--data-dir", str(data_dir)], env={**os.environ, "USER": "alice"},
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert vague.returncode == 2 and "no config version of your runs start with `c3`" in vague.stderr
