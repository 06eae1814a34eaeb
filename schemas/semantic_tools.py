"""Checks of `http` and `function` tools: what request templates read, where secrets may go,
and whether a named function is installed on this server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from schemas.errors import TemplateSyntaxError
from schemas.functions import installed_functions
from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import FunctionTool, HttpTool, Workflow
from schemas.suggest import did_you_mean
from schemas.templates import find_references

_SECRET_FIX = "declare it under the tool's `secrets` with the hosts it may be sent to, e.g. `{name}: [api.example.com]`"


def tool_issues(wf: Workflow, loc: Locator) -> list[Issue]:
    issues: list[Issue] = []
    for name, tool in wf.tools.items():
        if isinstance(tool, HttpTool):
            issues += _http_issues(name, tool, loc)
        elif isinstance(tool, FunctionTool):
            issues += _function_issues(name, tool, loc)
    return issues


def request_templates(tool: HttpTool) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path inside the tool, template) for every string the tool renders per request."""
    if tool.url:
        yield ("url",), tool.url
    for part in ("headers", "query"):
        for key, value in getattr(tool, part).items():
            if isinstance(value, str):
                yield (part, key), value
    if tool.body is not None:
        yield from _strings(tool.body, ("body",))


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, (*path, index))


def used_secrets(tool: HttpTool) -> set[str]:
    """Names of the secrets this tool's templates read."""
    names: set[str] = set()
    for _path, text in request_templates(tool):
        try:
            names.update(r.path[1] for r in find_references(text) if len(r.path) == 2 and r.path[0] == "secrets")
        except TemplateSyntaxError:
            continue
    return names


def _http_issues(name: str, tool: HttpTool, loc: Locator) -> list[Issue]:
    issues: list[Issue] = []
    base: Path = ("tools", name)
    for path, text in request_templates(tool):
        where = (*base, *path)
        try:
            refs = find_references(text)
        except TemplateSyntaxError as exc:
            issues.append(loc.issue(where, str(exc)))
            continue
        for ref in refs:
            issues += _reference_issues(name, tool, ref.path, path[0], where, loc)
    if tool.body is not None and "POST" not in tool.methods:
        issues.append(loc.issue((*base, "body"), f"tool `{name}` has a `body` but does not allow POST",
                                "add `POST` to `methods`"))
    reachable = {(urlsplit(p.replace("*", "x")).hostname or "").lower() for p in tool.allow}
    used = used_secrets(tool)
    for secret, hosts in tool.secrets.items():
        if not hosts:
            issues.append(loc.issue((*base, "secrets", secret), f"secret `{secret}` is bound to no host",
                                    "list the hosts it may be sent to"))
        for index, host in enumerate(hosts):
            if host.split(":")[0] not in reachable:
                issues.append(loc.issue(
                    (*base, "secrets", secret, index),
                    f"secret `{secret}` is bound to `{host}`, which none of tool `{name}`'s `allow` patterns reach",
                    "bind it to a host under `allow`, or add the host to `allow`"))
        if secret not in used:
            issues.append(loc.issue((*base, "secrets", secret), f"secret `{secret}` is never used by tool `{name}`",
                                    "read it in a header, `query` or `body`, or remove it", severity="warning",
                                    at="key"))
    return issues


def _reference_issues(name: str, tool: HttpTool, path: tuple[str, ...], part: str | int, where: Path,
                      loc: Locator) -> list[Issue]:
    dotted = ".".join(path)
    if len(path) == 2 and path[0] == "params":
        if path[1] in tool.params:
            return []
        fix = did_you_mean(path[1], tool.params) or f"declare `{path[1]}` under the tool's `params`"
        return [loc.issue(where, f"`{{{{ {dotted} }}}}`: tool `{name}` has no parameter `{path[1]}`", fix)]
    if len(path) == 2 and path[0] == "secrets":
        if part == "url":
            return [loc.issue(where, f"`{{{{ {dotted} }}}}` in a URL: a secret may not be part of the URL",
                              "send it in a header, or in `query`")]
        if path[1] in tool.secrets:
            return []
        return [loc.issue(where, f"secret `{path[1]}` is not bound to any host", _SECRET_FIX.format(name=path[1]))]
    return [loc.issue(where, f"`{{{{ {dotted} }}}}`: a request of tool `{name}` may read only "
                      "`{{ params.<name> }}` and `{{ secrets.<NAME> }}`",
                      "pass run values to the agent in its prompt; it fills the tool's `params`")]


def _function_issues(name: str, tool: FunctionTool, loc: Locator) -> list[Issue]:
    installed = installed_functions().functions
    if tool.function in installed:
        return []
    names = ", ".join(f"`{n}`" for n in installed) or "none"
    fix = did_you_mean(tool.function, installed) or (
        "use one of the installed functions; the server's operator installs more (see SECURITY.md)")
    return [loc.issue(("tools", name, "function"),
                      f"tool `{name}`: no function `{tool.function}` is installed on this server (installed: {names})",
                      fix)]
