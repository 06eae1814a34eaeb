"""Retries, fallbacks, timeouts and the circuit breaker, against real faults from the loopback server."""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestrator.circuit import CircuitBreaker, circuit_key
from orchestrator.credentials import Credentials
from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    CircuitOpen,
    ModelCallError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from orchestrator.events import LLMCall
from orchestrator.llm import LiteLLMClient
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams
from testkit.llm_server import LLMServer
from testkit.replies import Reply

HELLO = [{"role": "user", "content": "Say hello"}]


def _call(client: LiteLLMClient, params: ModelParams) -> tuple[LLMResult, list[LLMCall]]:
    calls: list[LLMCall] = []
    result = asyncio.run(client.complete(LLMRequest(params, HELLO), on_attempt=calls.append))
    return result, calls


def _fail(client: LiteLLMClient, params: ModelParams, expected: type[ModelCallError]) -> tuple[
        ModelCallError, list[LLMCall]]:
    calls: list[LLMCall] = []
    with pytest.raises(expected) as info:
        asyncio.run(client.complete(LLMRequest(params, HELLO), on_attempt=calls.append))
    return info.value, calls


def test_retry_after_a_429_waits_as_the_server_asks(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="rate_limit", retry_after=0.4), Reply(text="made it"))
    started = time.perf_counter()
    result, calls = _call(llm_client, ModelParams("openai/test-model", retries=2))
    assert time.perf_counter() - started >= 0.4  # backoff_base is 0.01 s: only Retry-After explains it
    assert result.text == "made it" and result.attempts == 2
    assert [c.error is None for c in calls] == [False, True]
    assert "rate limited" in (calls[0].error or "")


def test_attempts_never_exceed_retries_plus_one(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script_many(Reply(fault="rate_limit", retry_after=0.01) for _ in range(5))
    error, calls = _fail(llm_client, ModelParams("openai/test-model", retries=2), RateLimited)
    assert len(llm_server.requests) == 3 and len(calls) == 3 and error.attempts == 3
    assert "wait a minute" in error.sentence() and "Wait a minute" not in str(error)  # the fix is said once
    assert llm_server.pending() == 2


def test_server_error_then_success(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="server_error"), Reply(fault="unavailable"), Reply(text="ok"))
    result, calls = _call(llm_client, ModelParams("openai/test-model", retries=2))
    assert result.text == "ok" and [c.attempt for c in calls] == [1, 2, 3]
    llm_server.assert_all_used()


def test_dropped_connection_and_cut_stream_are_retried(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="disconnect"), Reply(text="a b c d e f g h", fault="cut_stream"),
                      Reply(text="whole"))
    result, calls = _call(llm_client, ModelParams("openai/test-model", retries=2))
    assert result.text == "whole" and len(calls) == 3


def test_a_hanging_provider_times_out(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="hang", hang_seconds=10), Reply(fault="hang", hang_seconds=10))
    started = time.perf_counter()
    error, calls = _fail(llm_client, ModelParams("openai/test-model", timeout=0.3, retries=1), ProviderTimeout)
    assert time.perf_counter() - started < 3.0
    assert len(calls) == 2 and "timed out" in str(error) and "timeout" in error.sentence()


def test_stalled_stream_times_out(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="slow words arrive here", chunk_delay=1.0))
    _fail(llm_client, ModelParams("openai/test-model", timeout=0.3, retries=0), ProviderTimeout)


def test_a_stream_that_keeps_moving_outlasts_its_timeout(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    """The timeout bounds the silence between chunks, not the whole reply."""
    llm_server.script(Reply(text="one two three four five six seven eight", chunk_delay=0.1))
    started = time.perf_counter()
    result, calls = _call(llm_client, ModelParams("openai/test-model", timeout=0.4, retries=0))
    assert result.text == "one two three four five six seven eight" and len(calls) == 1
    assert time.perf_counter() - started > 0.4


def test_falls_back_to_the_next_model(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="server_error"), Reply(fault="server_error"), model="primary")
    llm_server.script(Reply(text="from the fallback"), model="backup")
    params = ModelParams("openai/primary", retries=1, fallbacks=(ModelParams("openai/backup"),))
    result, calls = _call(llm_client, params)
    assert result.text == "from the fallback" and result.model == "openai/backup"
    assert [(c.model, c.error is None) for c in calls] == [
        ("openai/primary", False), ("openai/primary", False), ("openai/backup", True)]
    assert result.attempts == 3


def test_auth_error_skips_retries_and_goes_to_the_fallback(llm_client: LiteLLMClient,
                                                           llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="auth"), model="primary")
    llm_server.script(Reply(text="ok"), model="backup")
    params = ModelParams("openai/primary", retries=3, fallbacks=(ModelParams("openai/backup"),))
    result, calls = _call(llm_client, params)
    assert result.text == "ok" and [c.model for c in calls] == ["openai/primary", "openai/backup"]


def test_auth_error_alone_fails_at_once(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="auth"))
    error, _ = _fail(llm_client, ModelParams("openai/test-model", retries=3), AuthenticationFailed)
    assert len(llm_server.requests) == 1 and "Settings" in error.sentence() and error.kind == "auth"


def test_bad_request_is_not_retried(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="bad_request"))
    _fail(llm_client, ModelParams("openai/test-model", retries=3), BadRequest)
    assert len(llm_server.requests) == 1


def test_the_error_quotes_the_providers_message_not_its_json_body(llm_client: LiteLLMClient,
                                                                  llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="bad_request", message="Invalid request: 'messages' is malformed."))
    error, calls = _fail(llm_client, ModelParams("openai/test-model", retries=0), BadRequest)
    assert "rejected the request: Invalid request: 'messages' is malformed." in str(error)
    assert "{" not in str(error) and "{" not in (calls[0].error or "")


def test_a_json_error_body_is_reduced_to_its_message_and_scrubbed() -> None:
    from orchestrator.llm_retry import clean_message

    body = '{"error": {\n  "message": "Incorrect API key: sk-abcdefghijklmnop0123",\n  "type": "auth"}}'
    assert clean_message(Exception(body), ("sk-abcdefghijklmnop0123",)) == "Incorrect API key: [REDACTED]"
    assert clean_message(Exception('litellm.BadRequestError: {"error": "too long"}')) == "too long"
    assert clean_message(Exception('{"detail": 1} trailing')) == '{"detail": 1} trailing'


def test_every_model_failing_names_them_all(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="auth"), model="primary")
    llm_server.script(Reply(fault="unavailable"), model="backup")
    params = ModelParams("openai/primary", retries=0, fallbacks=(ModelParams("openai/backup", retries=0),))
    error, _ = _fail(llm_client, params, ProviderUnavailable)
    assert "'openai/primary': auth" in str(error) and "'openai/backup': provider_unavailable" in str(error)


def test_circuit_opens_after_consecutive_failures_and_fails_fast(credentials: Credentials,
                                                                llm_server: LLMServer) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=60)
    client = LiteLLMClient(credentials, breaker=breaker, backoff_base=0.01)
    llm_server.script_many(Reply(fault="server_error") for _ in range(2))
    _fail(client, ModelParams("openai/test-model", retries=1), ProviderUnavailable)
    assert breaker.state(circuit_key("openai/test-model", credentials.keys["openai"])) == "open"
    error, calls = _fail(client, ModelParams("openai/test-model", retries=3), CircuitOpen)
    assert len(llm_server.requests) == 2  # the second call never reached the server
    assert "failed repeatedly" in str(error) and calls[0].error


def test_open_circuit_skips_to_the_fallback(credentials: Credentials, llm_server: LLMServer) -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=60)
    breaker.record_failure(circuit_key("openai/primary", credentials.keys["openai"]))
    llm_server.script(Reply(text="backup answers"), model="backup")
    client = LiteLLMClient(credentials, breaker=breaker)
    params = ModelParams("openai/primary", fallbacks=(ModelParams("openai/backup"),))
    result, _ = _call(client, params)
    assert result.text == "backup answers" and [r.model for r in llm_server.requests] == ["backup"]


def test_one_visitors_bad_key_opens_only_their_own_circuit(credentials: Credentials,
                                                           llm_server: LLMServer) -> None:
    """Visitors share the app's breaker; a key typed in Settings that keeps failing must not
    make the visitors on the environment's key fail fast with `circuit_open`."""
    bad = "my-own-key-that-the-provider-rejects"
    llm_server.set_default(lambda req: Reply(fault="server_error") if bad in req.headers.get("Authorization", "")
                           else Reply(text="hello"))
    breaker = CircuitBreaker(threshold=2, cooldown=60)
    visitor = LiteLLMClient(credentials.with_keys({"openai": bad}), breaker=breaker, backoff_base=0.01)
    others = LiteLLMClient(credentials, breaker=breaker, backoff_base=0.01)
    _fail(visitor, ModelParams("openai/test-model", retries=1), ProviderUnavailable)
    _fail(visitor, ModelParams("openai/test-model", retries=1), CircuitOpen)  # their circuit is open

    result, _ = _call(others, ModelParams("openai/test-model", retries=0))
    assert result.text == "hello"
    assert breaker.state(circuit_key("openai/test-model", credentials.keys["openai"])) == "closed"
    assert breaker.state(circuit_key("openai/test-model", bad)) == "open"
    assert bad not in circuit_key("openai/test-model", bad)  # a hash names the credential, never the key


def test_circuit_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=lambda: now[0])
    breaker.record_failure("m")
    assert breaker.allow("m")
    breaker.record_failure("m")
    assert not breaker.allow("m") and breaker.retry_in("m") == 10
    now[0] = 10.5
    assert breaker.allow("m") and not breaker.allow("m")  # one trial at a time
    breaker.record_success("m")
    assert breaker.state("m") == "closed" and breaker.allow("m")


def test_the_key_never_appears_in_errors(credentials: Credentials, llm_server: LLMServer) -> None:
    """The server echoes the key back in its error body, as some providers do."""
    key = credentials.keys["openai"]
    llm_server.script(Reply(fault="auth"), Reply(fault="server_error", message=f"upstream said key={key}"))
    client = LiteLLMClient(credentials)
    error, calls = _fail(client, ModelParams("openai/test-model", retries=0), AuthenticationFailed)
    assert key[:12] in llm_server.requests[0].headers["Authorization"]
    assert key not in str(error) and key[:20] not in str(error)
    assert all(key[:20] not in (c.error or "") for c in calls)
    error, calls = _fail(client, ModelParams("openai/test-model", retries=0), ProviderUnavailable)
    assert key[:20] not in str(error) and "[REDACTED]" in str(error)
    assert key not in repr(client) and key not in repr(credentials)


def test_an_unusual_key_shape_is_still_scrubbed(llm_server: LLMServer) -> None:
    odd_key = "zz9-plural-z-alpha-0000"
    client = LiteLLMClient(Credentials(keys={"openai": odd_key}, api_bases={"openai": llm_server.base_url}))
    llm_server.script(Reply(fault="auth"))
    error, _ = _fail(client, ModelParams("openai/test-model", retries=0), AuthenticationFailed)
    assert odd_key not in str(error)


def test_probabilistic_faults_end_in_success_or_a_clean_error(llm_client: LiteLLMClient,
                                                             llm_server: LLMServer) -> None:
    llm_server.set_default("echo")
    llm_server.inject_faults(0.4, seed=3, faults=["rate_limit", "server_error", "unavailable", "disconnect"])
    outcomes = []
    for _ in range(10):
        try:
            outcomes.append(_call(llm_client, ModelParams("openai/test-model", retries=3))[0].text)
        except (RateLimited, ProviderUnavailable) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes.count("echo: Say hello") >= 7
    assert len(llm_server.requests) <= 40


def test_nothing_logged_or_printed_contains_the_key(credentials: Credentials, llm_server: LLMServer,
                                                    capfd: pytest.CaptureFixture[str],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    key = credentials.keys["openai"]
    llm_server.script(Reply(fault="auth"))
    with caplog.at_level("DEBUG"):
        _fail(LiteLLMClient(credentials), ModelParams("openai/test-model", retries=0), AuthenticationFailed)
    out, err = capfd.readouterr()
    assert key[:20] not in out + err
    assert all(key[:20] not in record.getMessage() for record in caplog.records)


def test_unknown_model_is_not_retried(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    from orchestrator.errors import ModelNotFound

    llm_server.script(Reply(fault="bad_request", status=404, message="The model 'gpt-9' does not exist"))
    error, _ = _fail(llm_client, ModelParams("openai/gpt-9", retries=3), ModelNotFound)
    assert len(llm_server.requests) == 1 and "'openai/gpt-9'" in str(error) and "does not exist" in str(error)
