"""Build one `http` tool request from the config, the agent's arguments and the named secrets.

The agent fills `params` (checked against their declared types); the config's `url`, headers,
`query` and JSON `body` are templates reading `params` and `secrets`. Secret values enter only the
request itself: `PreparedRequest.secrets` lists the ones used, so each hop can be checked against
the hosts they are bound to, and anything echoed back can be redacted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from schemas.models import HttpParam, HttpTool
from schemas.templates import find_references, render, resolve

_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)})


class RequestInvalid(ValueError):
    """The agent's arguments do not fit the tool's `params`; the text goes back to the agent."""


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = field(default=None, repr=False)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # name -> value used in this request
    allow_url: str | None = None  # the URL the allow-list judges: before the tool's own query is added


def check_params(tool: HttpTool, args: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's values for the tool's params, type-checked; raises RequestInvalid."""
    reserved = {"url", "method", "body"} if tool.url is None else {"method"}
    unknown = sorted(set(args) - set(tool.params) - reserved)
    if unknown:
        raise RequestInvalid(f"unknown argument(s) {', '.join(unknown)}; this tool takes "
                             f"{', '.join(tool.params) or 'no parameters'}")
    values: dict[str, Any] = {}
    for name, spec in tool.params.items():
        if name not in args or args[name] is None:
            if spec.required:
                raise RequestInvalid(f"pass `{name}` ({spec.type}): {spec.description or 'required'}")
            continue
        values[name] = _checked(name, spec, args[name])
    return values


def _checked(name: str, spec: HttpParam, value: Any) -> Any:
    if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, _TYPES[spec.type]) or (isinstance(value, bool) and spec.type != "boolean"):
        raise RequestInvalid(f"`{name}` must be a {spec.type}, not {json.dumps(value)[:60]}")
    if spec.enum is not None and value not in spec.enum:
        raise RequestInvalid(f"`{name}` must be one of {', '.join(spec.enum)}")
    return value


def prepare(tool: HttpTool, args: Mapping[str, Any], secrets: Mapping[str, str]) -> PreparedRequest:
    """The request the tool sends for these arguments; raises RequestInvalid or TemplateError."""
    params = check_params(tool, args)
    method = str(args.get("method") or tool.methods[0]).upper()
    read: set[str] = set()
    used: dict[str, str] = {}
    context = {"params": params, "secrets": secrets}

    def fill(text: str, *, keep_type: bool = False) -> Any:
        for ref in find_references(text):
            if ref.path[0] == "params":
                read.add(ref.path[1])
            elif ref.path[0] == "secrets" and len(ref.path) == 2 and ref.path[1] in secrets:
                used[ref.path[1]] = secrets[ref.path[1]]
        return resolve(text, context) if keep_type else render(text, context)

    if tool.url is not None:
        quoted = {"params": {k: quote(str(v), safe="") for k, v in params.items()}}
        fill(tool.url)
        url = render(tool.url, quoted)
    else:
        url = args.get("url")
        if not isinstance(url, str):
            raise RequestInvalid("pass the `url` to fetch")
    headers = {name: fill(value) if isinstance(value, str) else str(value) for name, value in tool.headers.items()}
    query = {k: fill(v) if isinstance(v, str) else v for k, v in tool.query.items()}
    body: Any = _fill_json(tool.body, fill) if tool.body is not None else None
    rest = {k: v for k, v in params.items() if k not in read}
    if rest and method == "GET":
        query.update(rest)
    elif rest:
        body = {**(body or {}), **rest}
    data: bytes | None = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        if not any(h.lower() == "content-type" for h in headers):
            headers["Content-Type"] = "application/json"
    elif tool.url is None and isinstance(args.get("body"), str) and method == "POST":
        data = args["body"].encode()
    return PreparedRequest(method, _with_query(url, query), headers, data, used, url)


def _fill_json(value: Any, fill: Any) -> Any:
    if isinstance(value, str):
        return fill(value, keep_type=True)
    if isinstance(value, dict):
        return {k: _fill_json(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, fill) for v in value]
    return value


def _with_query(url: str, query: Mapping[str, Any]) -> str:
    if not query:
        return url
    parts = urlsplit(url)
    pairs = urlencode({k: _query_text(v) for k, v in query.items()})
    return urlunsplit(parts._replace(query=f"{parts.query}&{pairs}" if parts.query else pairs))


def _query_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def host_allowed(url: str, hosts: list[str]) -> bool:
    """Whether `url`'s host is one of `hosts` (`host` matches any port, `host:port` only that port)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for bound in hosts:
        name, _, bound_port = bound.partition(":")
        if name == host and (not bound_port or int(bound_port) == port):
            return True
    return False
