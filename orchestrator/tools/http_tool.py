"""The `http` tool: fetch allow-listed URLs, never private addresses, never more than `max_bytes`.

The private-address rule is checked on what a connection would actually reach: hosts are resolved
(numeric spellings such as `2130706433`, `0x7f.1` or `[::ffff:127.0.0.1]` decode like the OS
decodes them), every resolved address must be public, and the connection is pinned to the checked
addresses through a custom resolver, so a DNS answer cannot change between check and connect.
Redirects are followed by hand, each hop checked against the allow-list and the address rule again,
and a request carrying a named secret goes only to the hosts that secret is bound to (every hop).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from orchestrator.tools.http_request import PreparedRequest, host_allowed
from schemas.models import HttpTool

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpRefused(Exception):
    """The request is not allowed (allow-list, method, address); the text goes back to the agent."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    url: str
    body: str
    truncated: bool

    def to_tool_text(self) -> str:
        tail = "\n[response cut at the tool's max_bytes]" if self.truncated else ""
        return f"HTTP {self.status} from {self.url}\n{self.body}{tail}"


# ---- allow-list ---------------------------------------------------------------------------------


def url_allowed(url: str, patterns: list[str]) -> bool:
    """Scheme, host and port must equal the pattern's; `*` in the path matches any characters."""
    target = urlsplit(url)
    for pattern in patterns:
        expected = urlsplit(pattern.replace("*", "__STAR__"))
        if (target.scheme, _netloc(target)) != (expected.scheme, _netloc(expected)):
            continue
        path_pattern = expected.path.replace("__STAR__", "*") or "/"
        if expected.query:
            path_pattern += "?" + expected.query.replace("__STAR__", "*")
        actual = (target.path or "/") + (f"?{target.query}" if target.query else "")
        regex = ".*".join(re.escape(part) for part in path_pattern.split("*"))
        if re.fullmatch(regex, actual) or (not target.query and re.fullmatch(regex, target.path or "/")):
            return True
    return False


def _netloc(parts: Any) -> tuple[str, int | None]:
    host = (parts.hostname or "").lower()
    default = 443 if parts.scheme == "https" else 80
    return host, parts.port or default


# ---- addresses ----------------------------------------------------------------------------------


# IPv6 ranges that carry an IPv4 address in their last 32 bits: a gateway (NAT64, SIIT) or the OS
# (IPv4-compatible) turns them into that IPv4 address, so they are judged by it.
_LAST_32_EMBEDS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96"))
# Local-use NAT64 (RFC 8215) may embed the IPv4 address at several offsets: refused as a whole.
_REFUSED_V6 = (ipaddress.ip_network("64:ff9b:1::/48"),)
_6TO4 = ipaddress.ip_network("2002::/16")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through a translation or tunnel mechanism."""
    found = [ip.ipv4_mapped] if ip.ipv4_mapped is not None else []
    if any(ip in net for net in _LAST_32_EMBEDS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in _6TO4 and ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public(address: str) -> bool:
    """Whether an IP is globally routable; IPv6 spellings of IPv4 addresses are judged by the IPv4."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(v4.is_global and not v4.is_multicast for v4 in embedded)
    return ip.is_global and not ip.is_multicast


def numeric_host(host: str) -> str | None:
    """The IP a numeric host spelling means (`2130706433`, `0x7f.1`, `::ffff:7f00:1`), else None."""
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))  # the BSD spellings connect() would accept
    except OSError:
        return None


async def resolve_checked(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses `host` resolves to, all of them checked; raises HttpRefused otherwise."""
    literal = numeric_host(host)
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise HttpRefused(f"cannot resolve host `{host}`: {exc}") from None
        addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        blocked = [a for a in addresses if not is_public(a)]
        if blocked:
            raise HttpRefused(
                f"host `{host}` resolves to a private or loopback address ({blocked[0]}); "
                "the http tool only reaches public addresses"
            )
    return addresses


class _PinnedResolver:
    """An aiohttp resolver that connects only to addresses `resolve_checked` approved."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        addresses = await resolve_checked(host, port, self.allow_private)
        return [
            {"hostname": host, "host": a, "port": port,
             "family": socket.AF_INET6 if ":" in a else socket.AF_INET, "proto": 0,
             "flags": socket.AI_NUMERICHOST}
            for a in addresses
        ]

    async def close(self) -> None:
        return None


# ---- the request --------------------------------------------------------------------------------


async def check_url(url: str, tool: HttpTool, allow_private: bool, allow_url: str | None = None) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpRefused(f"`{url}` is not an http(s) URL")
    if parts.username or parts.password:
        raise HttpRefused("URLs with credentials are not allowed")
    if not url_allowed(allow_url or url, tool.allow):
        raise HttpRefused(f"`{allow_url or url}` is not in this tool's allow-list: {', '.join(tool.allow)}")
    await resolve_checked(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), allow_private)


def check_secret_hosts(url: str, request: PreparedRequest, tool: HttpTool) -> None:
    """Refuse to send a secret to a host it is not bound to (the first request or any redirect)."""
    for name in request.secrets:
        hosts = tool.secrets.get(name, [])
        if not host_allowed(url, hosts):
            host = urlsplit(url).hostname
            raise HttpRefused(f"secret `{name}` may only be sent to {', '.join(hosts) or 'no host'}, not to "
                              f"`{host}`; the request was not sent")


async def fetch(tool: HttpTool, url: str, method: str = "GET", body: str | None = None, *,
                allow_private: bool = False) -> HttpResponse:
    """A plain request (the agent gives the URL, method and body); see `send`."""
    data = body.encode() if body is not None and method.upper() == "POST" else None
    return await send(tool, PreparedRequest(method.upper(), url, body=data), allow_private=allow_private)


async def send(tool: HttpTool, request: PreparedRequest, *, allow_private: bool = False) -> HttpResponse:
    """One request with redirects re-checked hop by hop; raises HttpRefused or aiohttp errors."""
    import aiohttp

    method, url, data, headers = request.method, request.url, request.body, dict(request.headers)
    if method not in tool.methods:
        raise HttpRefused(f"method `{method}` is not allowed; this tool allows {', '.join(tool.methods)}")
    connector = aiohttp.TCPConnector(resolver=_PinnedResolver(allow_private), use_dns_cache=False)  # type: ignore[arg-type]
    timeout = aiohttp.ClientTimeout(total=tool.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
        for hop in range(MAX_REDIRECTS + 1):
            await check_url(url, tool, allow_private, request.allow_url if hop == 0 else None)
            check_secret_hosts(url, request, tool)
            async with session.request(method, url, data=data if method == "POST" else None, headers=headers,
                                       allow_redirects=False) as resp:
                if resp.status in _REDIRECTS and "Location" in resp.headers:
                    url = urljoin(url, resp.headers["Location"])
                    if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                        method, data = "GET", None
                        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                    continue
                raw, truncated = await _read_capped(resp, tool.max_bytes)
                charset = resp.charset or "utf-8"
                return HttpResponse(resp.status, url, raw.decode(charset, errors="replace"), truncated)
    raise HttpRefused(f"more than {MAX_REDIRECTS} redirects")


async def _read_capped(resp: Any, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await resp.content.read(min(65_536, cap + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    raw = b"".join(chunks)
    return raw[:cap], len(raw) > cap
