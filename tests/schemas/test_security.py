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


HOW = ("reference a named secret, bind it to the hosts it may reach under the tool's `secrets`, and set its "
       "value as an environment variable of that name or in Settings")
HTTP_TOOL = "tools:\n  web:\n    type: http\n    allow: ['https://api.example.com/*']\n"


@pytest.mark.parametrize(("header", "line"), [
    ("{Authorization: Bearer abc}", "15:30: `Authorization` carries a credential"),
    ("{X-API-KEY: 'k3y-not-a-name'}", "15:26: `X-API-KEY` carries a credential"),
    ("{X-API-KEY: 'Bearer 9f3a7c1e5b2d8f4a{{ secrets.KEY }}'}", "15:26: `X-API-KEY` carries a credential"),
    ("{X-Client: 9f3a7c1e5b2d8f4a6c0e9b7dQ}", "15:25: this value looks like an API key or token"),
])
def test_a_literal_credential_in_a_header_is_refused(errors_of: Errors, minimal: str, header: str, line: str) -> None:
    text = minimal + HTTP_TOOL + f"    headers: {header}\n    secrets: {{KEY: [api.example.com]}}\n"
    assert any(e.startswith(line) and e.endswith(f"({HOW})") for e in errors_of(text)), errors_of(text)


def test_a_header_naming_a_bound_secret_is_accepted(errors_of: Errors, minimal: str) -> None:
    text = minimal + HTTP_TOOL + (
        "    headers: {Authorization: 'Bearer {{ secrets.API_TOKEN }}', Accept: application/json}\n"
        "    query: {api_key: '{{ secrets.API_TOKEN }}'}\n"
        "    secrets: {API_TOKEN: [api.example.com]}\n"
    )
    assert [e for e in errors_of(text) if "warning" not in e] == []


def test_headers_and_secrets_stay_forbidden_outside_http_tools(errors_of: Errors, minimal: str) -> None:
    text = minimal + "tools:\n  p:\n    type: python\n    headers: {Accept: x}\n"
    assert errors_of(text)[0] == f"14:5: `headers` is not allowed in a config ({FIX})"


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
