"""The orchestrator's exceptions. Every message quotes the identifiers involved and says what to do.

    OrchestratorError
    └── ModelCallError            a model call failed after its retries and fallbacks
        ├── RateLimited           the provider said 429 / quota
        ├── ProviderTimeout       no answer within the call's timeout
        ├── ProviderUnavailable   5xx, refused or dropped connection, broken stream
        ├── AuthenticationFailed  missing or rejected API key (never retried)
        ├── BadRequest            the provider rejected the request (never retried)
        ├── ModelNotFound         the provider does not know the model (never retried)
        └── CircuitOpen           too many recent failures: failing fast during a cooldown
    └── RunError                  the engine stopped a run on purpose (`reason` goes to `RunFailed`)
        ├── StepFailed            a step could not finish (bad structured output, missing value...)
        ├── BudgetExhausted       a limit under `limits` would be exceeded
        ├── RunRejected           a person rejected an approval whose `on_reject` is `stop`
        ├── DiskFull              the data directory's disk is full: the run cannot be saved
        ├── SecretMissing         a named secret an http tool reads has no value (before any step)
        ├── RunNotResumable       no such run, or it has already ended
        └── InvalidAnswer         an answer to an `ask` step that is not one of its choices

Messages never contain API keys: they are built from scrubbed provider messages (`secrets.redact`).
"""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of everything the orchestrator raises on purpose."""


class ModelCallError(OrchestratorError):
    """A model call failed; `kind` is the short machine-friendly reason (for `RunFailed.reason`)."""

    kind = "provider_error"
    retryable = False
    hint = "Check the model name and provider settings, then try again."

    def __init__(self, message: str, *, model: str = "", provider: str = "", attempts: int = 0,
                 retry_after: float | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.model, self.provider, self.attempts = model, provider, attempts
        self.retry_after, self.status_code = retry_after, status_code

    def advice(self, key_source: str = "settings") -> str:
        """What to do about it; `key_source` is where this user's keys come from (app or CLI)."""
        return self.hint

    def sentence(self, key_source: str = "settings") -> str:
        """The cause and the fix as one plain sentence, for the trace and the terminal."""
        fix = self.advice(key_source)
        cause = str(self).rstrip(" .")
        return f"{cause}; {fix[:1].lower()}{fix[1:]}" if fix else f"{cause}."


class RateLimited(ModelCallError):
    kind, retryable = "rate_limited", True
    hint = "Wait a minute, lower the parallelism, or add a fallback model."


class ProviderTimeout(ModelCallError):
    kind, retryable = "timeout", True
    hint = "Raise the model's `timeout`, shorten the prompt, or add a fallback model."


class ProviderUnavailable(ModelCallError):
    kind, retryable = "provider_unavailable", True
    hint = "The provider is down or unreachable; try again later or add a fallback model."


class AuthenticationFailed(ModelCallError):
    kind = "auth"
    hint = "Add or fix the provider's API key in Settings."

    def advice(self, key_source: str = "settings") -> str:
        from orchestrator.credentials import KEY_ENV

        names = KEY_ENV.get(self.provider, ())
        if key_source == "environment":
            where = " or ".join(names) if names else f"the {self.provider or 'provider'}'s API key variable"
            return f"Set {where} in the environment to a valid key."
        return f"Add or fix the {self.provider or 'provider'} API key in Settings."


class BadRequest(ModelCallError):
    kind = "bad_request"
    hint = "Check the prompt size and the model's parameters (temperature, max_tokens, tools)."


class ModelNotFound(ModelCallError):
    kind = "model_not_found"
    hint = "Check the model name (e.g. 'openai/gpt-4o-mini') and that your key can use it."


class CircuitOpen(ModelCallError):
    kind, retryable = "circuit_open", False
    hint = "The model failed repeatedly just now; wait for the cooldown or use another model."


class RunError(OrchestratorError):
    """The engine ended a run on purpose; `reason` is `RunFailed.reason`, `step_id` where it happened."""

    reason = "internal"

    def __init__(self, message: str, *, step_id: str | None = None) -> None:
        super().__init__(message)
        self.step_id = step_id


class StepFailed(RunError):
    reason = "step_failed"


class BudgetExhausted(RunError):
    reason = "budget"

    def __init__(self, limit: str, limit_value: float, used: float, *, step_id: str | None = None) -> None:
        super().__init__(
            f"the run would exceed `limits.{limit}` ({limit_value:g}; used {used:g}): raise the limit "
            "in the workflow's `limits` or make the steps cheaper",
            step_id=step_id,
        )
        self.limit, self.limit_value, self.used = limit, limit_value, used


class RunRejected(RunError):
    reason = "rejected"


class DiskFull(RunError):
    reason = "disk_full"


class SecretMissing(RunError):
    """A named secret a tool needs has no value; raised before the run's first step."""

    reason = "config"


class RunNotResumable(RunError):
    reason = "not_resumable"


class InvalidAnswer(RunError):
    """An answer to an `ask` step that is not one of its choices (the run keeps waiting)."""

    reason = "invalid_answer"
