"""The CLI's start-up: garbage collection paused while modules load, and always back on after."""

from __future__ import annotations

import gc

from graphwright.startup import _Resume, collection_paused


def test_collection_resumes_when_litellm_and_the_engine_are_both_loaded() -> None:
    assert gc.isenabled()
    with collection_paused():
        resume = _Resume(2)
        resume.done()  # LiteLLM is in; the engine is still loading
        assert not gc.isenabled()
        resume.done()
        assert gc.isenabled()
    assert gc.isenabled()


def test_a_command_that_calls_no_model_gets_collection_back_when_it_ends() -> None:
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
