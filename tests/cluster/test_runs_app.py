"""The app in cluster mode: the Run tab's own code path streams a run executed by a worker."""

from __future__ import annotations

import asyncio

import pytest
from runs_testing import TEST_KEY, TWO_STEPS

from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster


def replica(cluster, monkeypatch, tmp_path, name: str):
    """An app replica's services, built from the environment as `app.py` builds them."""
    from ui.services import AppServices

    for key, value in cluster.env().items():
        if key.startswith(("GRAPHWRIGHT_", "OPENAI_")):
            monkeypatch.setenv(key, value)
    return AppServices.create(tmp_path / name)


def test_the_run_tab_streams_a_worker_run_and_another_replica_follows_it_live(cluster, llm_server, monkeypatch,
                                                                               tmp_path) -> None:
    from cluster.executor import ClusterExecutor
    from ui.run_views import stream
    from ui.session import Session

    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}", chunk_delay=0.05))
    cluster.start_worker()
    first, second = replica(cluster, monkeypatch, tmp_path, "a"), replica(cluster, monkeypatch, tmp_path, "b")
    try:
        session, other = Session(), Session()
        other.owner = session.owner  # the same visitor, reconnected to the other replica
        executor = first.engine_for(session)
        assert isinstance(executor, ClusterExecutor) and executor.engine.credentials.keys["openai"] == TEST_KEY

        async def both() -> tuple[list, list]:
            wf = load_workflow(TWO_STEPS, "app.yaml")
            updates: list = []

            async def watch() -> None:
                async for update in stream(session, executor.run(wf, {}, owner=session.owner_id, run_id="viaapp")):
                    updates.append(update)

            watching = asyncio.create_task(watch())
            while not llm_server.requests:
                await asyncio.sleep(0.05)
            followed = [e async for e in second.engine_for(other).resume("viaapp", owner=other.owner_id)]
            await watching
            return updates, followed

        updates, followed = asyncio.run(both())
        assert session.trace.status == "finished" and session.trace.output == "done two done one"
        assert len(updates) >= 2  # live updates, then the final view
        assert followed[-1].type == "run_finished" and followed[-1].output == "done two done one"
        assert session.trace.run_id == "viaapp"
    finally:
        first.close()
        second.close()
