"""Secret detection and redaction for logs, traces, history and chat text."""

from __future__ import annotations

import logging

import pytest

from orchestrator.secrets import REDACTED, RedactingFilter, find_secrets, looks_like_secret, redact

SAMPLES = {
    "openai": "sk-proj-AbCdEf0123456789GhIjKlMnOpQrStUv",
    "anthropic": "sk-ant-api03-AbCdEf0123456789GhIjKlMnOpQr",
    "google": "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    "huggingface": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "github": "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "groq": "gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
}


@pytest.mark.parametrize(("kind", "secret"), SAMPLES.items())
def test_recognises_provider_keys(kind: str, secret: str) -> None:
    text = f"my key is {secret} please use it"
    assert looks_like_secret(text)
    assert [m.kind for m in find_secrets(text)] == [kind]
    assert redact(text) == f"my key is {REDACTED} please use it"


def test_bearer_headers_and_assigned_tokens() -> None:
    assert redact("Authorization: Bearer abcDEF123456ghiJKL789") == f"Authorization: Bearer {REDACTED}"
    assert redact("url?api_key=Zx81kLmQ02pRt7Yw5Vb3Nc9") == f"url?api_key={REDACTED}"
    assert redact('token: "q8W2e7R1t6Y3u0I9o4P5aSdF"') == f'token: "{REDACTED}"'


def test_ordinary_text_is_left_alone() -> None:
    for text in ("The key point is clarity.", "token=password", "sk-short", "task-manager-service",
                 "max_tokens: 512", "key=this_is_just_a_plain_long_identifier"):
        assert not looks_like_secret(text), text
        assert redact(text) == text


def test_known_values_are_redacted_whatever_their_shape() -> None:
    assert redact("sent zz9-plural-z-alpha twice: zz9-plural-z-alpha", known=["zz9-plural-z-alpha"]) == \
        f"sent {REDACTED} twice: {REDACTED}"


def test_overlapping_matches_redact_once() -> None:
    text = f"Authorization: Bearer {SAMPLES['openai']}"
    assert redact(text) == f"Authorization: Bearer {REDACTED}"


def test_logging_filter_redacts_messages_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("graphwright.test.secrets")
    logger.addFilter(RedactingFilter(known=["custom-secret-value"]))
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("calling with %s and %s", SAMPLES["anthropic"], "custom-secret-value")
    assert caplog.records[0].getMessage() == f"calling with {REDACTED} and {REDACTED}"
