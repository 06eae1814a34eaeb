"""The pre-run estimate is recorded with each run, so history shows how far off the estimator is:
examples run against the loopback server (real LiteLLM, priced as gpt-4o-mini), per version."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from chatbot.run_origin import run_origin
from history import versions as hv
from history.queries import Filters
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow_file
from schemas.versions import config_hash
from testkit.replies import Reply
from ui.versions_view import version_table, with_ratios

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODEL = "openai/gpt-4o-mini"


def _plausible(request: Any) -> Reply:
    said = synthesize(request.messages, request.tools)
    if said.tool_name:
        return Reply(tool_calls=[{"name": said.tool_name, "arguments": said.tool_arguments}])
    return Reply(text=said.text)


NAMES = ("brief_writer", "review_loop", "map_topics", "parallel_research")


def test_estimate_and_actual_side_by_side_per_version(data_dir: Path, llm_server: Any, credentials: Credentials,
                                                      llm_client: Any) -> None:
    llm_server.set_default(_plausible)
    store = HistoryStore.open(data_dir, mlflow=False)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials,
                    policy=Policy(default_model=MODEL), sinks=[store.sink])
    workflows = {name: load_workflow_file(EXAMPLES / f"{name}.yaml") for name in NAMES}

    async def run_all() -> None:
        for workflow in workflows.values():
            origin = run_origin(workflow, None, source="test", default_model=MODEL)
            async for _ in engine.run(workflow, {}, owner="me", origin=origin):
                pass

    try:
        asyncio.run(run_all())
        store.flush(10)
        frame = with_ratios(hv.by_version(store.read_cursor(), Filters(owner="me")))
    finally:
        store.close()
    assert sorted(frame["version"]) == sorted(config_hash(w) for w in workflows.values())
    assert (frame["runs"] == 1).all() and (frame["avg_estimate_usd"] > 0).all()
    assert (frame["above_worst_case"] == 0).all()  # no run cost more than its worst-case estimate
    # The loopback server answers briefly (a sentence, where the estimate assumes ~400 tokens), so
    # these runs cost a fraction of the expected estimate: the estimator errs on the safe side.
    assert frame["cost_ratio"].between(0.02, 1.0).all(), frame[["workflow", "cost_ratio"]]
    assert frame["token_ratio"].between(0.02, 1.0).all(), frame[["workflow", "token_ratio"]]
    table = version_table(frame)
    assert {"cost_ratio", "token_ratio", "avg_estimate_usd"} <= set(table.columns)
