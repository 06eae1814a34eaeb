"""The autouse guard in tests/conftest.py: loopback and unix sockets work, the internet does not."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path

import pytest

from orchestrator.credentials import Credentials
from orchestrator.errors import ProviderUnavailable
from orchestrator.llm import LiteLLMClient
from orchestrator.llm_types import LLMRequest, ModelParams
from testkit.llm_server import LLMServer


def test_public_addresses_are_refused() -> None:
    with pytest.raises(OSError, match="may not reach the network"):
        socket.create_connection(("1.1.1.1", 443), timeout=1)
    with pytest.raises(socket.gaierror, match="network blocked"):
        socket.getaddrinfo("api.openai.com", 443)


def test_loopback_and_unix_sockets_are_allowed(llm_server: LLMServer) -> None:
    with socket.create_connection(("127.0.0.1", llm_server.port), timeout=1):
        pass
    with socket.create_connection(("localhost", llm_server.port), timeout=1):
        pass
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "s.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
        listener.close()


def test_a_model_call_that_would_leave_the_machine_fails_fast() -> None:
    client = LiteLLMClient(Credentials(keys={"openai": "sk-test-real-endpoint-0000000000"}))
    request = LLMRequest(ModelParams("openai/gpt-4o-mini", retries=0, timeout=5), [{"role": "user", "content": "hi"}])
    with pytest.raises(ProviderUnavailable):
        asyncio.run(client.complete(request))
