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
        for key, value in items:
            if isinstance(key, str) and _forbidden(key):
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
