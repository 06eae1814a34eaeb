"""Visitors share the app fairly: run slots, the queue, quotas and uploads are per visitor (issue 14).

The real app on loopback, driven through `gradio_client` like any API client (each `Client` is one
visitor: its own session and owner), with the operator's quota variables set for this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from gradio_client import Client

from testkit.llm_server import LLMServer, RecordedRequest
from testkit.replies import Reply
from tests.hardening.conftest import WORKFLOW, run_args
from tests.ui.conftest import RunningApp, start_app, stop_app

SLOW_S = 15.0
ENV = {"GRAPHWRIGHT_QUOTA_ANON_CONCURRENT_RUNS": "2", "GRAPHWRIGHT_QUOTA_ANON_RUNS_PER_HOUR": "4",
       "GRAPHWRIGHT_UPLOAD_MB_PER_HOUR": "3", "GRAPHWRIGHT_TRUST_FORWARDED": "1"}


@pytest.fixture(scope="module")
def fair_app(tmp_path_factory: pytest.TempPathFactory, _llm_server_session: LLMServer) -> Iterator[RunningApp]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENV.items():
            env.setenv(name, value)
        app = start_app(tmp_path_factory.mktemp("data"), _llm_server_session)
        yield app
        stop_app(app)


def _answer(req: RecordedRequest) -> Reply:
    """Visitor A's topic is slow to answer (a long model call holds its run slot); the rest is quick."""
    return Reply(text="Tides rise.", latency=SLOW_S if "slowtopic" in str(req.messages) else 0.05)


def _visitor(url: str) -> Client:
    return Client(url, verbose=False, httpx_kwargs={"timeout": 120})


def _timed_run(client: Client, topic: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        status = client.predict(*run_args(WORKFLOW, topic=topic), api_name="/run")[0]
    except Exception as exc:  # a refusal reaches the client as an error with the message
        status = str(exc)
    return time.perf_counter() - started, str(status)


def test_one_visitors_many_runs_do_not_make_another_wait(fair_app: RunningApp, llm_server: LLMServer) -> None:
    llm_server.set_default(_answer)
    _timed_run(_visitor(fair_app.url), "quick")  # the first run imports the engine: not B's time
    b = _visitor(fair_app.url)
    alone, status = _timed_run(b, "quick")
    assert "finished" in status.lower(), status
    a = _visitor(fair_app.url)
    jobs = [a.submit(*run_args(WORKFLOW, topic="slowtopic"), api_name="/run") for _ in range(12)]
    time.sleep(2.0)
    busy, status = _timed_run(b, "quick")
    assert "finished" in status.lower(), status
    refused = []
    for job in jobs:
        try:  # a refused run ends with its "Not started" status; a full per-visitor queue is an error
            status = str(job.result(timeout=SLOW_S * 4)[0])
        except Exception as exc:
            status = str(exc)
        if "finished" not in status.lower():
            refused.append(status)
    print(f"\nB's run alone {alone:.2f}s, while A floods with 12 runs {busy:.2f}s")
    assert busy < max(3 * alone, alone + 5.0) < SLOW_S  # before: B waited for one of A's slow runs
    assert len(refused) >= 9  # 2 of A's ran; the rest were refused fast, each saying why
    assert all(r.startswith("**Not started.**") and "concurrent runs" in r or "Queue is full" in r for r in refused)


def test_a_visitor_cannot_fill_the_queue_for_everyone(fair_app: RunningApp, llm_server: LLMServer) -> None:
    llm_server.set_default(_answer)
    a = _visitor(fair_app.url)
    jobs = [a.submit(*run_args(WORKFLOW, topic="slowtopic"), api_name="/run") for _ in range(70)]
    time.sleep(3.0)
    b = _visitor(fair_app.url)
    took, status = _timed_run(b, "quick")
    for job in jobs:
        job.cancel()
    print(f"\nB's run with A's 70 queued: {took:.2f}s")
    assert "finished" in status.lower() and took < 15.0, status  # before: not within 30 s


def test_several_visitors_at_once_each_get_their_quota_and_are_told_when_it_resets(
    fair_app: RunningApp, llm_server: LLMServer
) -> None:
    llm_server.set_default(_answer)

    def visit(_: int) -> list[str]:
        client = _visitor(fair_app.url)
        return [_timed_run(client, "quick")[1] for _ in range(5)]

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(visit, range(3)))
    for statuses in outcomes:  # anonymous visitors: 4 runs per hour here
        assert sum("finished" in s.lower() for s in statuses) == 4, statuses
        assert "runs per hour quota is used up" in statuses[-1] and "0 left, resets at" in statuses[-1]


def _upload(url: str, visitor: str, size: int = 900_000) -> httpx.Response:
    files = {"files": ("notes.yaml", b"#" * size, "text/yaml")}
    return httpx.post(f"{url}gradio_api/upload", files=files, headers={"X-Forwarded-For": visitor}, timeout=30)


def test_uploads_are_capped_per_visitor(fair_app: RunningApp) -> None:
    accepted = [_upload(fair_app.url, "203.0.113.5").status_code for _ in range(5)]
    assert accepted == [200, 200, 200, 429, 429]  # 3 MB an hour for this module
    refusal: Any = _upload(fair_app.url, "203.0.113.5").json()["error"]
    assert "upload limit reached: 3 MB per hour per visitor" in refusal
    assert _upload(fair_app.url, "198.51.100.7").status_code == 200  # another visitor is not affected
