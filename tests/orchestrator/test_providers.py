"""Credentials per session, provider detection, and substituting the embedded default model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from orchestrator.credentials import PLACEHOLDER_KEY, Credentials
from orchestrator.providers import (
    Resolution,
    detect_ollama,
    embedded_default,
    model_string_problem,
    provider_of,
    resolve_model,
)


def test_keys_come_from_the_environment_and_the_session() -> None:
    env = {"OPENAI_API_KEY": "sk-env-key-000000000000000000", "GOOGLE_API_KEY": "AIza-google",
           "GRAPHWRIGHT_OPENAI_API_BASE": "http://127.0.0.1:8000/v1/"}
    creds = Credentials.from_env(env, session_keys={"anthropic": "sk-ant-typed"})
    assert creds.key_for("openai") == "sk-env-key-000000000000000000"
    assert creds.key_for("gemini") == "AIza-google" and creds.key_for("anthropic") == "sk-ant-typed"
    assert creds.api_base_for("openai") == "http://127.0.0.1:8000/v1"
    assert creds.api_base_for("ollama_chat") == "http://127.0.0.1:11434"
    assert creds.has("openai") and creds.has("ollama_chat") and not creds.has("groq")


def test_session_keys_override_and_never_touch_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-wide")
    creds = Credentials.from_env().with_keys({"openai": "sk-this-session"})
    assert creds.key_for("openai") == "sk-this-session"
    assert os.environ["OPENAI_API_KEY"] == "sk-server-wide"
    assert Credentials.from_env().key_for("openai") == "sk-server-wide"  # another session is unaffected


def test_repr_never_shows_a_key() -> None:
    creds = Credentials(keys={"openai": "sk-secret-value-123456789"}, api_bases={"openai": "http://x"})
    assert "sk-secret" not in repr(creds) and "sk-secret" not in str(creds)
    assert "openai=***" in repr(creds)


def test_an_endpoint_without_a_key_gets_a_placeholder_key() -> None:
    creds = Credentials(api_bases={"openai": "http://127.0.0.1:8000/v1"})
    assert creds.key_for("openai") == PLACEHOLDER_KEY and creds.key_for("ollama") is None


def test_credentials_are_immutable() -> None:
    creds = Credentials(keys={"openai": "sk-a"})
    with pytest.raises(TypeError):
        creds.keys["openai"] = "sk-b"  # type: ignore[index]
    assert creds.without_key("openai").has("openai") is False and creds.has("openai")


@pytest.mark.parametrize(("model", "provider"), [
    ("openai/gpt-4o-mini", "openai"), ("anthropic/claude-3-5-haiku", "anthropic"),
    ("ollama_chat/llama3.2", "ollama_chat"), ("gpt-4o", "openai"), ("claude-3-opus", "anthropic"),
    ("gemini-2.0-flash", "gemini"), ("offline/synthetic", "offline"), ("mystery", ""),
])
def test_provider_of(model: str, provider: str) -> None:
    assert provider_of(model) == provider


def test_substitutes_the_offline_model_when_the_key_is_missing() -> None:
    resolution = resolve_model("openai/gpt-4o-mini", Credentials())
    assert resolution == Resolution("offline/synthetic", True, resolution.reason)
    assert resolution.reason.startswith("no OPENAI_API_KEY: using the offline synthetic model instead")
    assert "add a key in Settings" in resolution.reason


def test_never_substitutes_a_configured_provider() -> None:
    creds = Credentials(keys={"openai": "sk-real"})
    assert resolve_model("openai/gpt-4o-mini", creds) == Resolution("openai/gpt-4o-mini")
    assert resolve_model("gpt-4o-mini", creds) == Resolution("gpt-4o-mini")
    assert resolve_model("offline/synthetic", Credentials()) == Resolution("offline/synthetic")


def _warnings_of(agents: dict[str, object], default: str) -> list[str]:
    from orchestrator.models_table import build_model_table
    from schemas.models import Workflow

    workflow = Workflow.model_validate({
        "version": 1, "name": "w", "agents": agents,
        "steps": [{"id": name, "type": "agent", "agent": name, "prompt": "hi"} for name in agents],
    })
    warnings: list[str] = []
    table = build_model_table(workflow, default, Credentials(keys={"openai": "sk-real"}), "offline/synthetic",
                              warnings.append)
    assert table.get(None).model  # the default always resolves, used or not
    return warnings


def test_the_offline_default_is_announced_only_when_a_step_would_call_it() -> None:
    own = {"writer": {"role": "Writer", "model": "openai/test-model"}}
    assert _warnings_of(own, "offline/synthetic") == []
    assert _warnings_of(own, "anthropic/claude-3-5-haiku") == []  # an unused default is not substituted aloud
    uses_default = {**own, "editor": {"role": "Editor"}}
    (warning,) = _warnings_of(uses_default, "offline/synthetic")
    assert warning.startswith("`offline/synthetic` is the offline model")


def test_substitutes_a_local_ollama_model_when_given() -> None:
    resolution = resolve_model("anthropic/claude-3-5-haiku", Credentials(), default="ollama_chat/llama3.2")
    assert resolution.model == "ollama_chat/llama3.2" and "no ANTHROPIC_API_KEY" in resolution.reason
    assert "unknown provider" in resolve_model("mystery", Credentials()).reason


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    class Tags(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = json.dumps({"models": [{"name": "llama3.2:latest"}, {"name": "qwen2.5:0.5b"}]}).encode()
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Tags)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_detects_a_running_ollama(fake_ollama: str) -> None:
    models = detect_ollama(base_url=fake_ollama)
    assert models == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert embedded_default(models) == "ollama_chat/llama3.2:latest"


def test_no_ollama_means_the_offline_model() -> None:
    assert detect_ollama(timeout=0.3) == []  # conftest points Ollama at a closed local port
    assert embedded_default([]) == "offline/synthetic"


def test_credentials_survive_copying_as_session_state_does() -> None:
    import copy
    import pickle

    creds = Credentials(keys={"openai": "sk-a"}, api_bases={"openai": "http://127.0.0.1:1/v1"})
    assert copy.deepcopy(creds) is creds and copy.copy(creds) is creds
    assert pickle.loads(pickle.dumps(creds)) == creds


@pytest.mark.parametrize("name", [
    "http://169.254.169.254/v1", "openai/http://evil.test/v1", "hosted_vllm//evil.test", "custom_openai/x",
    "openai\\\\evil", "ollama_chat/../../x//y", "gpt-4o-mini; rm", "x" * 300, "",
])
def test_model_strings_from_the_app_name_a_known_provider_never_a_url(name: str) -> None:
    assert model_string_problem(name) is not None


@pytest.mark.parametrize("name", ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku", "ollama_chat/llama3.2",
                                  "offline/synthetic", "gpt-4o", "huggingface/meta-llama/Llama-3.2-1B"])
def test_ordinary_model_strings_and_aliases_are_accepted(name: str) -> None:
    assert model_string_problem(name) is None
    assert model_string_problem("fast", aliases={"fast": object()}) is None
    assert "names no provider" in (model_string_problem("fast") or "")
