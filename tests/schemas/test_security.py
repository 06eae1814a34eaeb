"""No credentials or endpoints in a config, anywhere in the tree."""

from collections.abc import Callable

import pytest

Errors = Callable[..., list[str]]
FIX = "keys and endpoints belong in Settings or environment variables, never in the config"


@pytest.mark.parametrize(
    "key", ["api_key", "api_base", "base_url", "token", "secret", "password", "env", "headers"]
)
def test_forbidden_key_at_the_top(errors_of: Errors, minimal: str, key: str) -> None:
    assert errors_of(minimal + f"{key}: x\n") == [f"11:1: `{key}` is not allowed in a config ({FIX})"]


def test_forbidden_key_deep_in_the_tree(errors_of: Errors, minimal: str) -> None:
    text = minimal + "models:\n  fast:\n    model: openai/gpt-4o-mini\n    OPENAI-API-KEY: x\n"
    assert errors_of(text) == [
        f"14:5: `OPENAI-API-KEY` is not allowed in a config ({FIX})",
    ]


def test_headers_on_a_tool(errors_of: Errors, minimal: str) -> None:
    text = minimal + (
        "tools:\n  web:\n    type: http\n    allow: ['https://example.com/*']\n"
        "    headers: {Authorization: Bearer abc}\n"
    )
    assert errors_of(text)[0] == f"15:5: `headers` is not allowed in a config ({FIX})"


def test_credential_looking_values_anywhere(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("prompt: Write.", "prompt: Use key sk-proj-abcdef0123456789ABCDEF")
    assert errors_of(text) == [f"10:13: this value looks like an API key or token ({FIX})"]


def test_urls_in_model_names(errors_of: Errors, minimal: str) -> None:
    text = minimal + "default_model: http://10.0.0.5:8000/v1\n"
    assert errors_of(text)[0] == (
        "11:16: model `http://10.0.0.5:8000/v1` looks like a URL or host: a model is a LiteLLM name such "
        f"as `openai/gpt-4o-mini` ({FIX})"
    )


def test_ordinary_words_are_not_mistaken_for_keys(errors_of: Errors, minimal: str) -> None:
    text = minimal.replace("prompt: Write.", "prompt: Assess the risk-assessment-framework for desk-booking.")
    assert errors_of(text) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://me:hunter2@api.example.com/*", "this URL carries a user name or password"),
        ("https://api.example.com/v1/*?api_key=abc", "this URL carries a key or token in its query string"),
    ],
)
def test_credentials_inside_urls(errors_of: Errors, minimal: str, url: str, message: str) -> None:
    text = (
        minimal.replace("role: Writer", "role: Writer\n    tools: [web]")
        + f"tools:\n  web: {{type: http, allow: ['{url}']}}\n"
    )
    assert errors_of(text) == [f"13:29: {message} ({FIX})"]
