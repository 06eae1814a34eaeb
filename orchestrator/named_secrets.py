"""Named secrets for `http` tools: resolved once per run segment, never stored, never shown.

A config only names a secret (`{{ secrets.SERPER_API_KEY }}`) and binds it to hosts; the value
comes from the session's Settings or the server's environment variable of that name. The values
live in the run's context (not in the checkpointed state), go only into the request sent to a bound
host, and are redacted from whatever comes back before it reaches the model, events or the journal.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.credentials import Credentials
from orchestrator.errors import SecretMissing
from schemas.models import HttpTool, Workflow
from schemas.semantic_tools import used_secrets


def needed_secrets(workflow: Workflow) -> list[str]:
    """The secret names the workflow's http tools read, sorted."""
    names: set[str] = set()
    for tool in workflow.tools.values():
        if isinstance(tool, HttpTool):
            names |= used_secrets(tool)
    return sorted(names)


def missing_secrets(workflow: Workflow, credentials: Credentials, environ: Mapping[str, str] | None = None
                    ) -> list[str]:
    return [n for n in needed_secrets(workflow) if credentials.secret(n, environ) is None]


def resolve_secrets(workflow: Workflow, credentials: Credentials) -> dict[str, str]:
    """name -> value for every secret the workflow needs; raises SecretMissing naming each one."""
    missing = missing_secrets(workflow, credentials)
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        plural = "s" if len(missing) > 1 else ""
        raise SecretMissing(
            f"the workflow's http tools need the secret{plural} {names}, which {'are' if plural else 'is'} not "
            f"set: set the environment variable{plural} {', '.join(missing)} before starting graphwright, or "
            "add it under Settings → Named secrets in the app. Nothing ran."
        )
    values = {n: credentials.secret(n) for n in needed_secrets(workflow)}
    return {n: v for n, v in values.items() if v is not None}
