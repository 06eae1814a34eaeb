"""Keeps credentials and endpoints out of configs, wherever in the tree they are written.

Configs are shared in git and written by a model, so a key or base URL in one would leak or
redirect traffic. Keys come from Settings or the environment; these checks run on the raw data
before the models, so the message is about the secret rather than about an unknown key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
_WHERE_KEYS_GO = "keys and endpoints belong in Settings or environment variables, never in the config"


def _normal(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _walk(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) pair, iteratively (the data is depth-capped, but stay cheap anyway)."""
    stack: list[tuple[Path, Any]] = [(path, data)]
    while stack:
        here, value = stack.pop()
        yield here, value
        if isinstance(value, dict):
            stack.extend(((*here, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*here, i), v) for i, v in reversed(list(enumerate(value))))


def security_issues(data: Any, locator: Locator) -> list[Issue]:
    """Forbidden keys anywhere, credential-like strings anywhere, URLs in model names."""
    issues: list[Issue] = []
    for path, value in _walk(data):
        key = path[-1] if path and isinstance(path[-1], str) else None
        if key is not None and (_normal(key) in FORBIDDEN_KEYS or _normal(key).endswith(_FORBIDDEN_SUFFIXES)):
            issues.append(
                locator.issue(path, f"`{key}` is not allowed in a config", _WHERE_KEYS_GO, at="key")
            )
            continue
        if not isinstance(value, str):
            continue
        if _CREDENTIAL_RE.search(value):
            issues.append(locator.issue(path, "this value looks like an API key or token", _WHERE_KEYS_GO))
        elif _is_model_path(path) and _ENDPOINT_RE.search(value):
            issues.append(
                locator.issue(
                    path,
                    f"model `{value}` looks like a URL or host: a model is a LiteLLM name such as "
                    "`openai/gpt-4o-mini`",
                    _WHERE_KEYS_GO,
                )
            )
    return issues


def _is_model_path(path: Path) -> bool:
    names = [p for p in path if isinstance(p, str)]
    return bool(names) and names[-1] in _MODEL_KEYS
