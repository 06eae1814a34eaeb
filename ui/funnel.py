"""The one way errors reach the page: a decorator turning domain errors into a readable `gr.Error`.

Handlers raise whatever the core raises; `funnel` words it for people (config issues with line
numbers, form problems one per line, history and provider errors as they say) and anything
unexpected becomes a short message while the details go to the server log with secrets redacted.
A failing *step* is not an error here: it is an event in the trace.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

log = logging.getLogger("graphwright.ui")
F = TypeVar("F", bound=Callable[..., Any])


class UserFacingError(Exception):
    """Raised by UI code with a message already worded for people."""


def _redact(text: str) -> str:
    try:
        from orchestrator.secrets import redact
    except ImportError:  # the secrets module is optional during development
        return text
    return redact(text)


def friendly_message(exc: BaseException) -> str:
    """What to tell the user about `exc`: what happened and what to do."""
    from schemas.errors import SchemaError
    from ui.forms import FormError

    issues = getattr(exc, "issues", None)
    if issues:
        return "The config has problems:\n" + "\n".join(f"- {_issue_line(issue)}" for issue in issues)
    if isinstance(exc, FormError):
        return "The inputs need attention:\n" + "\n".join(f"- {p}" for p in exc.problems)
    if isinstance(exc, UserFacingError | SchemaError):
        return str(exc)
    module = type(exc).__module__.split(".")[0]
    if module in ("chatbot", "history", "orchestrator", "cluster"):
        return _redact(str(exc))
    return (f"Something went wrong ({type(exc).__name__}). Try again; if it keeps happening, "
            "the server log has the details.")


def _issue_line(issue: Any) -> str:
    line, column = getattr(issue, "line", None), getattr(issue, "column", None)
    if line is None:
        return str(issue)
    fix = f" ({issue.fix})" if getattr(issue, "fix", None) else ""
    return f"line {line}, col {column}: {issue.message}{fix}"


def _fail(exc: BaseException, fn: Callable[..., Any]) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    message = friendly_message(exc)
    if message.startswith("Something went wrong"):
        log.error("handler %s failed: %s", fn.__name__, _redact(repr(exc)))
    return gr.Error(message, print_exception=False)


def funnel(fn: F) -> F:
    """Wrap a handler (sync, async, or (async) generator) so every error reaches the page readably."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args: Any, **kwargs: Any) -> Any:
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except Exception as exc:
                raise _fail(exc, fn) from None

        return agen  # type: ignore[return-value]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                raise _fail(exc, fn) from None

        return coro  # type: ignore[return-value]
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise _fail(exc, fn) from None

        return gen  # type: ignore[return-value]

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _fail(exc, fn) from None

    return plain  # type: ignore[return-value]
