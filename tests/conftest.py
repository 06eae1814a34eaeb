"""Fixtures every area shares: the loopback LLM server, an isolated data dir, a network guard.

Tests talk to models through LiteLLM over real HTTP to `testkit.llm_server` on 127.0.0.1; any attempt
to reach a non-loopback address fails loudly, so no test can silently depend on the internet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from testkit.llm_server import LLMServer  # noqa: E402

if TYPE_CHECKING:
    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient

TEST_API_KEY = "sk-test-loopback-0123456789abcdefABCDEF"
_PROVIDER_ENV_KEYS = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY",
    "MISTRAL_API_KEY", "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", "TOGETHERAI_API_KEY", "XAI_API_KEY",
    "COHERE_API_KEY", "FIREWORKS_AI_API_KEY", "HF_TOKEN", "HUGGINGFACE_API_KEY",
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


# --- network guard -----------------------------------------------------------------------------
def _is_local_host(host: Any) -> bool:
    if host in (None, "", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).split("%")[0]
    if host.lower() in _LOOPBACK_NAMES or host == socket.gethostname():
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _is_ip_literal(host: Any) -> bool:
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


class NetworkBlocked(OSError):
    """A test tried to reach a non-loopback address."""


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse non-loopback connections and name lookups; unix sockets (dockerd) stay allowed."""
    guard_network(monkeypatch.setattr)


def guard_network(patch: Any) -> None:
    """Install the guard with `patch(owner, name, value)` (monkeypatch's, or `setattr` in a child process)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local_host(address[0]):
            raise NetworkBlocked(f"tests may not reach the network: connection to {address!r} blocked")

    def connect(self: socket.socket, address: Any) -> None:
        _check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local_host(host) and not _is_ip_literal(host):
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host!r} (network blocked)")
        return real_getaddrinfo(host, *args, **kwargs)

    patch(socket.socket, "connect", connect)
    patch(socket.socket, "connect_ex", connect_ex)
    patch(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real provider keys leak in from the developer's shell; the offline model streams fast."""
    for name in _PROVIDER_ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("GRAPHWRIGHT_") and n.endswith("_API_BASE")]:
        monkeypatch.delenv(name, raising=False)
    for name in ("GRAPHWRIGHT_POSTGRES_DSN", "GRAPHWRIGHT_TEMPORAL_ADDRESS"):  # cluster mode only when a test asks
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0")
    monkeypatch.setenv("GRAPHWRIGHT_OLLAMA_API_BASE", "http://127.0.0.1:9")  # no Ollama in tests
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")


# --- data dir -----------------------------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh `GRAPHWRIGHT_DATA_DIR` for this test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("GRAPHWRIGHT_DATA_DIR", str(path))
    return path


# --- loopback LLM server ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _llm_server_session() -> Iterator[LLMServer]:
    server = LLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(_llm_server_session: LLMServer) -> Iterator[LLMServer]:
    """The shared loopback server with an empty script, "fail" default and no recorded requests."""
    _llm_server_session.reset()
    yield _llm_server_session
    _llm_server_session.reset()


@pytest.fixture
def credentials(llm_server: LLMServer) -> Credentials:
    """Credentials sending `openai/*` models to the loopback server with a fake key."""
    from orchestrator.credentials import Credentials

    return Credentials(keys={"openai": TEST_API_KEY}, api_bases={"openai": llm_server.base_url})


@pytest.fixture
def llm_client(credentials: Credentials) -> LiteLLMClient:
    """A real `LiteLLMClient` (fast backoff) whose `openai/*` calls reach the loopback server."""
    from orchestrator.circuit import CircuitBreaker
    from orchestrator.llm import LiteLLMClient

    return LiteLLMClient(credentials, breaker=CircuitBreaker(), backoff_base=0.01, backoff_cap=0.5)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the real daemon (sandbox and deploy tests); they skip with the reason only when none answers."""
    from orchestrator.sandbox import docker_available

    if not docker_available(timeout=3.0):
        pytest.skip("no Docker daemon reachable (scripts/system-deps.sh starts one in CI)")
    import docker

    client = docker.from_env(timeout=120)
    yield client
    client.close()
