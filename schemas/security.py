"""Keeps credentials and endpoints out of configs, wherever in the tree they are written.

Configs are shared in git and written by a model, so a key or base URL in one would leak or
redirect traffic. Keys come from Settings or the environment; these checks run on the raw data
before the models, so the message is about the secret rather than about an unknown key.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.templates import TEMPLATE_RE

FORBIDDEN_KEYS = frozenset(
    {
        "api_key", "apikey", "api_keys", "api_base", "base_url", "api_url", "api_version", "proxy",
        "key", "keys", "token", "access_token", "refresh_token", "auth", "authorization", "bearer",
        "secret", "secrets", "client_secret", "password", "passwd", "credential", "credentials",
        "headers", "cookie", "cookies", "env", "aws_access_key_id", "aws_secret_access_key",
        "aws_session_token", "vertex_credentials", "private_key",
    }
)  # fmt: skip
_FORBIDDEN_SUFFIXES = ("_api_key", "_secret", "_password", "_token", "_credentials")
_MODEL_KEYS = frozenset({"model", "default_model", "fallbacks"})
_CREDENTIAL_RE = re.compile(
    r"(\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{10,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|gsk_[A-Za-z0-9]{20,}|Bearer\s+[A-Za-z0-9._~+/-]{16,})"
)
_ENDPOINT_RE = re.compile(r"(://|^www\.|localhost|\b\d{1,3}(\.\d{1,3}){3}\b)", re.IGNORECASE)
_URL_USERINFO_RE = re.compile(r"\bhttps?://[^/\s@]+@", re.IGNORECASE)
_SECRET_QUERY_RE = re.compile(
    r"\bhttps?://\S*[?&](api[_-]?key|key|token|access[_-]?token|secret|password|sig|signature)=",
    re.IGNORECASE,
)
_HTTP_PARTS = frozenset({"headers", "query", "body", "secrets", "params"})
_SENSITIVE_NAME_RE = re.compile(r"(?i)(auth|key|token|secret|password|signature|cookie|session)")
_SECRET_REF_RE = re.compile(r"\{\{\s*secrets\.")
_SCHEME_RE = re.compile(r"\s*([A-Za-z-]{1,20}\s+)?")  # "Bearer ", "Token ", or nothing
_HOW_SECRETS_GO = (
    "reference a named secret, bind it to the hosts it may reach under the tool's `secrets`, and set its "
    "value as an environment variable of that name or in Settings"
)
_WHERE_KEYS_GO = "keys and endpoints belong in Settings or environment variables, never in the config"


@lru_cache(maxsize=4096)
def _forbidden(key: str) -> bool:
    normal = key.strip().lower().replace("-", "_")
    return normal in FORBIDDEN_KEYS or normal.endswith(_FORBIDDEN_SUFFIXES)


def security_issues(data: Any, locator: Locator) -> list[Issue]:
    """Forbidden keys anywhere, credential-like strings anywhere, URLs in model names."""
    issues: list[Issue] = []
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        path, container = stack.pop()
        if isinstance(container, dict):
            items: Any = container.items()
            model_list = False
        else:
            items = enumerate(container)
            model_list = bool(path) and path[-1] == "fallbacks"
        request_part = _http_request_part(data, path)
        for key, value in items:
            if request_part is not None and isinstance(value, str):
                problem = _request_value_problem(str(key), value, request_part)
                if problem is not None:
                    issues.append(locator.issue((*path, key), problem, _HOW_SECRETS_GO))
                    continue
            if isinstance(key, str) and _forbidden(key) and not _http_field(data, path, key, request_part):
                issues.append(
                    locator.issue(
                        (*path, key), f"`{key}` is not allowed in a config", _WHERE_KEYS_GO, at="key"
                    )
                )
            elif isinstance(value, str):
                is_model = model_list or key in _MODEL_KEYS
                problem = _string_problem(value, is_model)
                if problem is not None:
                    issues.append(locator.issue((*path, key), problem, _WHERE_KEYS_GO))
            elif isinstance(value, dict | list):
                stack.append(((*path, key), value))
    return sorted(issues, key=lambda i: (i.line, i.column))


def _http_tool(data: Any, path: Path) -> bool:
    """Whether `path` is `("tools", name)` of an `http` tool in the raw data."""
    if len(path) != 2 or path[0] != "tools" or not isinstance(data, dict):
        return False
    tools = data.get("tools")
    tool = tools.get(path[1]) if isinstance(tools, dict) else None
    return isinstance(tool, dict) and tool.get("type") == "http"


def _http_request_part(data: Any, path: Path) -> str | None:
    """`headers`, `query`, `body`, `secrets` or `params` when `path` lies inside one of an http tool's."""
    if len(path) >= 3 and path[2] in _HTTP_PARTS and _http_tool(data, path[:2]):
        return str(path[2])
    return None


def _http_field(data: Any, path: Path, key: Any, request_part: str | None) -> bool:
    """Header names, parameter names and secret names of an http tool are not config keys."""
    if request_part is not None:
        return request_part != "params" or len(path) == 3
    return key in _HTTP_PARTS and _http_tool(data, path)


def _request_value_problem(key: str, value: str, part: str) -> str | None:
    """A header, query or body value must not carry a literal credential: it names a secret instead."""
    if part not in ("headers", "query", "body"):
        return None
    literal = TEMPLATE_RE.sub("", value)
    named = _SECRET_REF_RE.search(value) is not None
    if _forbidden(key) or _SENSITIVE_NAME_RE.search(key):
        if not named or not _SCHEME_RE.fullmatch(literal):
            return f"`{key}` carries a credential: write `{{{{ secrets.NAME }}}}` instead of the value"
    elif not named and _looks_random(literal):
        return "this value looks like an API key or token"
    return None


def _string_problem(value: str, is_model: bool) -> str | None:
    if _CREDENTIAL_RE.search(value):
        return "this value looks like an API key or token"
    if _URL_USERINFO_RE.search(value):
        return "this URL carries a user name or password"
    if _SECRET_QUERY_RE.search(value):
        return "this URL carries a key or token in its query string"
    if is_model and _ENDPOINT_RE.search(value):
        return f"model `{value}` looks like a URL or host: a model is a LiteLLM name such as `openai/gpt-4o-mini`"
    return None


def _looks_random(value: str) -> bool:
    """A long token mixing letters and digits, with no spaces (a key, not a word or a path)."""
    token = value.strip()
    return (len(token) >= 20 and " " not in token and "/" not in token
            and bool(re.search(r"[0-9]", token)) and bool(re.search(r"[A-Za-z]", token))
            and len(set(token)) >= 12)
