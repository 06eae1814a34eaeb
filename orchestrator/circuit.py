"""A circuit breaker per model and credential: after N consecutive failures, fail fast for a cooldown.

When a provider is down, every run would otherwise spend its whole retry budget waiting on it.
The app owns one breaker and passes it to the client (no module-level state); it is thread-safe
because Gradio serves sessions from a thread pool. Circuits are keyed by `circuit_key(model, key)`:
the model and a hash of the credential actually used, so one visitor's bad key (their own, typed in
Settings) opens only their circuit, never the one of visitors on the environment's key.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]


def circuit_key(model: str, credential: str | None) -> str:
    """`model` plus a short hash of the key used for it (never the key itself)."""
    if not credential:
        return f"{model}#no-key"
    return f"{model}#{hashlib.sha256(credential.encode()).hexdigest()[:16]}"


@dataclass
class _ModelState:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


class CircuitBreaker:
    """`threshold` consecutive failures open a model's circuit for `cooldown` seconds.

    After the cooldown one trial call is let through (half-open): success closes the circuit, failure
    opens it for another cooldown.
    """

    def __init__(self, threshold: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold, self.cooldown, self._clock = threshold, cooldown, clock
        self._models: dict[str, _ModelState] = {}
        self._lock = threading.Lock()

    def state(self, model: str) -> State:
        with self._lock:
            return self._state(self._models.get(model, _ModelState()))

    def _state(self, st: _ModelState) -> State:
        if st.opened_at is None:
            return "closed"
        return "half_open" if self._clock() - st.opened_at >= self.cooldown else "open"

    def allow(self, model: str) -> bool:
        """Whether a call to `model` may go out now (claims the single half-open trial)."""
        with self._lock:
            st = self._models.setdefault(model, _ModelState())
            state = self._state(st)
            if state == "closed":
                return True
            if state == "half_open" and not st.trial_in_flight:
                st.trial_in_flight = True
                return True
            return False

    def retry_in(self, model: str) -> float:
        """Seconds until `model`'s circuit lets a trial call through (0 when closed)."""
        with self._lock:
            st = self._models.get(model)
            if st is None or st.opened_at is None:
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - st.opened_at))

    def record_success(self, model: str) -> None:
        with self._lock:
            self._models[model] = _ModelState()

    def record_failure(self, model: str) -> None:
        with self._lock:
            st = self._models.setdefault(model, _ModelState())
            st.failures += 1
            st.trial_in_flight = False
            if st.failures >= self.threshold:
                st.opened_at = self._clock()

    def reset(self, model: str | None = None) -> None:
        with self._lock:
            if model is None:
                self._models.clear()
            else:
                self._models.pop(model, None)
