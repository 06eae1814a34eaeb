"""The `http` tool against a real local server: allow-list, size cap, redirects, private addresses."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.policy import Policy
from orchestrator.tools.http_tool import HttpRefused, fetch, is_public, numeric_host, url_allowed
from schemas.models import HttpTool


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/redirect-out"):
            self.send_response(302)
            self.send_header("Location", "/private/secret")
            self.end_headers()
        elif self.path.startswith("/redirect-in"):
            self.send_response(301)
            self.send_header("Location", "/api/ok")
            self.end_headers()
        elif self.path.startswith("/api/big"):
            self._reply(b"x" * 5000)
        else:
            self._reply(f"hello from {self.path}".encode())

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(b"posted: " + self.rfile.read(length))

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def tool(*allow: str, **kw: object) -> HttpTool:
    return HttpTool(type="http", allow=list(allow), **kw)


def get(t: HttpTool, url: str, *, allow_private: bool = True, method: str = "GET", body: str | None = None):
    return asyncio.run(fetch(t, url, method, body, allow_private=allow_private))


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", "017700000001", "[::ffff:127.0.0.1]",
    "[::1]", "10.0.0.7", "192.168.1.1", "169.254.169.254", "[fe80::1]", "0.0.0.0",
])
def test_private_and_loopback_addresses_are_refused_in_every_spelling(host: str) -> None:
    url = f"http://{host}/data"
    with pytest.raises(HttpRefused, match="private or loopback"):
        get(tool(f"http://{host}/*"), url, allow_private=False)


def test_numeric_spellings_decode_like_the_os_does() -> None:
    assert numeric_host("2130706433") == numeric_host("0x7f.1") == "127.0.0.1"
    assert numeric_host("::ffff:7f00:1") == "::ffff:7f00:1" and not is_public("::ffff:7f00:1")
    assert numeric_host("example.com") is None
    assert is_public("93.184.216.34") and not is_public("100.64.0.1")


def test_the_allow_list_matches_scheme_host_port_and_path() -> None:
    patterns = ["https://api.example.com/v1/*"]
    assert url_allowed("https://api.example.com/v1/items/3?x=1", patterns)
    assert not url_allowed("http://api.example.com/v1/items", patterns)
    assert not url_allowed("https://api.example.com.evil.net/v1/items", patterns)
    assert not url_allowed("https://api.example.com:8443/v1/items", patterns)
    assert not url_allowed("https://api.example.com/v2/items", patterns)
    with pytest.raises(HttpRefused, match="credentials"):
        get(tool("http://127.0.0.1/*"), "http://user:pw@127.0.0.1/x")


def test_fetches_allowed_urls_when_the_policy_allows_private_hosts(site: str) -> None:
    response = get(tool(f"{site}/api/*"), f"{site}/api/hello")
    assert response.status == 200 and response.body == "hello from /api/hello"
    with pytest.raises(HttpRefused, match="allow-list"):
        get(tool(f"{site}/api/*"), f"{site}/private/secret")


def test_responses_are_cut_at_max_bytes(site: str) -> None:
    response = get(tool(f"{site}/api/*", max_bytes=1000), f"{site}/api/big")
    assert len(response.body) == 1000 and response.truncated
    assert "cut at the tool's max_bytes" in response.to_tool_text()


def test_every_redirect_hop_is_checked_again(site: str) -> None:
    allowed = tool(f"{site}/api/*", f"{site}/redirect-in", f"{site}/redirect-out")
    assert get(allowed, f"{site}/redirect-in").body == "hello from /api/ok"
    with pytest.raises(HttpRefused, match="/private/secret"):
        get(allowed, f"{site}/redirect-out")


def test_methods_are_limited_to_the_configured_ones(site: str) -> None:
    with pytest.raises(HttpRefused, match="method `POST`"):
        get(tool(f"{site}/api/*"), f"{site}/api/x", method="POST", body="hi")
    posted = get(tool(f"{site}/api/*", methods=["GET", "POST"]), f"{site}/api/x", method="POST", body="hi")
    assert posted.body == "posted: hi"


def test_an_agent_reads_a_fetched_page_through_the_engine(site: str, make_engine) -> None:
    wf = workflow(f"""
        version: 1
        name: reader
        default_model: openai/gpt-4o-mini
        tools: {{web: {{type: http, allow: ['{site}/api/*']}}}}
        agents: {{a: {{role: Reader, tools: [web]}}}}
        steps: [{{id: read, type: agent, agent: a, prompt: read the page}}]
    """)
    client = ScriptedClient(Say(tool_calls=[("web", {"url": f"{site}/api/page"})]), Say("It says hello."))
    events = collect(make_engine(client, policy=Policy(allow_private_http=True)).run(wf, {}))
    call, result = of_type(events, "tool_call")[0], of_type(events, "tool_result")[0]
    assert call.arguments == {"url": f"{site}/api/page"} and result.ok
    fed_back = [m for m in client.requests[1].messages if m["role"] == "tool"][0]["content"]
    assert "hello from /api/page" in fed_back
    assert events[-1].output == "It says hello."


@pytest.mark.parametrize("address", [
    "64:ff9b::a9fe:a9fe",        # NAT64 (RFC 6052) of the metadata address 169.254.169.254
    "64:ff9b::7f00:1",           # NAT64 of 127.0.0.1
    "64:ff9b:1::a00:7",          # local-use NAT64 (RFC 8215): any embedding, refused as a range
    "2002:a9fe:a9fe::1",         # 6to4 of 169.254.169.254
    "2002:c0a8:101::",           # 6to4 of 192.168.1.1
    "::a9fe:a9fe",               # IPv4-compatible ::169.254.169.254
    "::127.0.0.1",
    "::ffff:0:a00:7",            # SIIT ::ffff:0:10.0.0.7
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1 (obfuscated)
])
def test_ipv6_spellings_of_private_ipv4_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(HttpRefused, match="private or loopback"):
        get(tool(f"http://[{address}]/*"), f"http://[{address}]/data", allow_private=False)


def test_ipv6_embeddings_of_public_ipv4_addresses_stay_public() -> None:
    assert is_public("64:ff9b::5db8:d822")  # NAT64 of 93.184.216.34
    assert is_public("2002:5db8:d822::1")    # 6to4 of 93.184.216.34
    assert is_public("2606:4700::6810:84e5")  # an ordinary global IPv6 address
