"""Function tools the server's operator installed: found, typed and described, never from YAML.

A config names a function (`type: function, function: calculate`); the function itself comes from
code the operator put on the server: the built-in demo module `graphwright_tools`, entry points in
the `graphwright.tools` group, and modules listed in `GRAPHWRIGHT_TOOL_MODULES` (comma-separated,
each with a `GRAPHWRIGHT_TOOLS` list). Typed parameters become the JSON schema the model sees and
validate the model's arguments. This lives in `schemas` because validation must list the names.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model

ENTRY_POINT_GROUP = "graphwright.tools"
MODULES_ENV = "GRAPHWRIGHT_TOOL_MODULES"
BUILTIN_MODULE = "graphwright_tools"


@dataclass(frozen=True)
class InstalledFunction:
    """One function tool: its name, where it came from, and the model that checks its arguments."""

    name: str
    source: str
    func: Callable[..., Any] = field(repr=False)
    arguments: type[BaseModel] = field(repr=False)

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.func) or ""
        return doc.split("\n\n")[0].replace("\n", " ").strip() or f"Call `{self.name}`."

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, as sent to the model."""
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema


@dataclass(frozen=True)
class Installed:
    functions: dict[str, InstalledFunction]
    problems: tuple[str, ...] = ()  # modules or entry points that failed to load, for Settings


def arguments_model(name: str, func: Callable[..., Any]) -> type[BaseModel]:
    """A pydantic model of `func`'s parameters; every parameter must be annotated."""
    hints = get_type_hints(func, include_extras=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"function tool `{name}` takes *args/**kwargs; give every parameter a name and a type")
        if param.name not in hints:
            raise TypeError(f"parameter `{param.name}` of function tool `{name}` has no type annotation")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], default)
    return create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)


def _add(found: dict[str, InstalledFunction], problems: list[str], func: Any, source: str,
         name: str | None = None) -> None:
    name = name or getattr(func, "__name__", "")
    if not callable(func) or not name:
        problems.append(f"{source}: `{func!r}` is not a function")
        return
    if name in found:
        return  # the first source wins (built-ins, then entry points, then modules)
    try:
        found[name] = InstalledFunction(name, source, func, arguments_model(name, func))
    except (TypeError, NameError, ValueError) as exc:
        problems.append(f"{source}: {exc}")


def _module_tools(path: str, found: dict[str, InstalledFunction], problems: list[str], source: str) -> None:
    try:
        module = importlib.import_module(path)
    except Exception as exc:  # noqa: BLE001 - the operator's module; report, do not crash validation
        problems.append(f"{source}: cannot import `{path}`: {type(exc).__name__}: {exc}")
        return
    tools = getattr(module, "GRAPHWRIGHT_TOOLS", None)
    if not isinstance(tools, list | tuple):
        problems.append(f"{source}: module `{path}` has no `GRAPHWRIGHT_TOOLS` list of functions")
        return
    for func in tools:
        _add(found, problems, func, source)


@lru_cache(maxsize=8)
def _discover(modules_env: str) -> Installed:
    found: dict[str, InstalledFunction] = {}
    problems: list[str] = []
    _module_tools(BUILTIN_MODULE, found, problems, "built-in")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _add(found, problems, ep.load(), f"entry point `{ep.value}`", ep.name)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"entry point `{ep.name}`: {type(exc).__name__}: {exc}")
    for path in filter(None, (p.strip() for p in modules_env.split(","))):
        _module_tools(path, found, problems, MODULES_ENV)
    return Installed(dict(sorted(found.items())), tuple(problems))


def installed_functions() -> Installed:
    """Every installed function tool (cached per value of `GRAPHWRIGHT_TOOL_MODULES`)."""
    return _discover(os.environ.get(MODULES_ENV, ""))
