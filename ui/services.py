"""Process-wide services the handlers share, created once by the app and passed in (never globals).

The history store (one per process: it owns the DuckDB file), the base credentials (environment
keys and code-set endpoints; each session adds its own keys on top), the policy, the circuit
breaker. Heavy libraries (LiteLLM, LangGraph, MLflow) are imported on first use or by `warm_up`
in a background thread, so the first page is served without waiting for them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from history.quotas import Quotas, Visitor
from history.slots import OwnerSlots
from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.workers import Workers

if TYPE_CHECKING:
    from history.store import HistoryStore
    from ui.session import Session

log = logging.getLogger("graphwright.ui")
OFFLINE_MODEL = "offline/synthetic"


@dataclass
class AppServices:
    """What every handler may use; one instance per app process."""

    data_dir: Path
    history: HistoryStore | None = None
    base_credentials: Credentials = field(default_factory=Credentials.from_env)
    policy: Policy = field(default_factory=Policy)
    max_concurrent_runs: int = 8
    mlflow_default: bool = False  # GRAPHWRIGHT_MLFLOW=1: every session starts with tracing on
    workers: Workers = field(default_factory=Workers)  # pools and sandbox caps shared by all sessions
    _breaker: Any = None
    _tracer: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Plotly builds figures with shared, lazily filled caches that break when threads build at once
    # ("ValueError: Invalid value", plotly/plotly.py#3441): the dashboards take turns (ms each).
    chart_lock: threading.Lock = field(default_factory=threading.Lock)
    _sandbox: tuple[float, bool] | None = None
    sql_gate: OwnerSlots = field(default_factory=OwnerSlots)  # one SQL-box query at a time per visitor
    quotas: Quotas = field(default_factory=lambda: Quotas(None))  # `create` binds them to the history
    storage_warning: str | None = None  # on a Space without persistent storage: history is lost on restart
    cluster: Any = None  # cluster mode: `cluster.executor.ClusterRuntime` (runs execute on Temporal workers)

    @classmethod
    def create(cls, data_dir: Path | None = None, **kwargs: Any) -> AppServices:
        """Open the history store for `data_dir` (raises `HistoryLocked` if another app has it)."""
        from history.backend import open_history
        from history.store import mlflow_enabled
        from orchestrator.deployment import Deployment
        from orchestrator.paths import data_dir as default_data_dir
        from orchestrator.paths import storage_warning

        directory = Path(data_dir) if data_dir is not None else default_data_dir()
        kwargs.setdefault("storage_warning", storage_warning(directory))
        if kwargs["storage_warning"]:
            log.warning("data directory %s: %s", directory, kwargs["storage_warning"])
        store = open_history(directory, Deployment.from_env(), mlflow=False, recover=True, follow_inbox=True)
        kwargs.setdefault("mlflow_default", mlflow_enabled())  # tracing itself is per session: `sinks_for`
        kwargs.setdefault("quotas", Quotas(store))
        from orchestrator.execution import cluster_mode

        if cluster_mode():  # only then is anything of Temporal imported
            from cluster.executor import ClusterRuntime

            kwargs.setdefault("cluster", ClusterRuntime.from_env())
        return cls(data_dir=directory, history=store, **kwargs)

    # ---- per session -------------------------------------------------------------------------
    def visitor_for(self, session: Session) -> Visitor:
        """Who the quotas see: the owner id, whether signed in, and whether the operator's keys are
        out of reach (the session's own keys replace every key the server has)."""
        own = set(Credentials(keys=self.session_keys(session)).keys)
        return Visitor(session.owner_id, signed_in=session.user is not None,
                       own_key=bool(own) and set(self.base_credentials.keys) <= own)

    @staticmethod
    def session_keys(session: Session) -> dict[str, str]:
        """The visitor's own keys: a signed-in visitor's Hugging Face token, then the keys they typed."""
        oauth = {"huggingface": session.hf_token} if session.hf_token else {}
        return {**oauth, **session.settings.keys}

    def credentials_for(self, session: Session) -> Credentials:
        from dataclasses import replace

        credentials = self.base_credentials.with_keys(self.session_keys(session))
        return replace(credentials, named={**credentials.named, **session.settings.secrets})

    def breaker(self) -> Any:
        with self._lock:
            if self._breaker is None:
                from orchestrator.circuit import CircuitBreaker

                self._breaker = CircuitBreaker()
            return self._breaker

    def client_for(self, session: Session) -> Any:
        """A LiteLLM-backed `ModelClient` with the session's keys (LiteLLM is imported here)."""
        from orchestrator.llm import LiteLLMClient

        return LiteLLMClient(self.credentials_for(session), breaker=self.breaker())

    def default_model(self, session: Session) -> str:
        """The session's model, else the operator's, else (on a Space with a Hugging Face token) an
        Inference Providers model, else the offline model."""
        return self._chosen_model(session) or OFFLINE_MODEL

    def _chosen_model(self, session: Session) -> str | None:
        from orchestrator.hf_inference import hosted_default

        return (session.settings.default_model or self.policy.default_model
                or hosted_default(self.credentials_for(session)))

    def sinks_for(self, session: Session) -> list[Any]:
        sinks: list[Any] = []
        if self.history is not None:
            sinks.append(self.history.sink)
        if session.settings.mlflow:
            tracer = self.mlflow_tracer()
            if tracer is not None:
                sinks.append(tracer.put)
        return sinks

    def engine_for(self, session: Session, *, sends_keys: bool = True) -> Any:
        """Where this session's runs execute (`orchestrator.execution.RunExecutor`): an engine bound to its
        keys, model and the shared history; in cluster mode the same engine's records, driven by workers
        (`sends_keys=False`: for what starts no segment, which needs none of the visitor's keys sealed)."""
        from dataclasses import replace

        from orchestrator.runner import Engine

        # None lets the engine choose its embedded default (Ollama when it runs here, else offline)
        policy = replace(self.policy, default_model=self._chosen_model(session))
        credentials = self.credentials_for(session)
        engine = Engine(data_dir=self.data_dir, client=self.client_for(session), credentials=credentials,
                        policy=policy, sinks=self.sinks_for(session), workers=self.workers)
        if self.cluster is None:
            return engine
        from cluster.sealed import SessionSecrets  # the visitor's own keys travel sealed to the worker

        # a page that closes (the visitor left this replica) does not stop the run; Stop does
        secrets = SessionSecrets(self.session_keys(session), session.settings.secrets) if sends_keys else None
        return self.cluster.executor(engine, secrets, stop_on_close=False)

    def follow_running(self, session: Session) -> Any:
        """The events of the visitor's run going on outside this page, if any (`RunExecutor.follow_running`:
        in cluster mode a run started before a reload or through another replica; locally never one)."""
        return self.engine_for(session, sends_keys=False).follow_running(session.owner_id)

    async def stop_run(self, session: Session) -> None:
        """Stop the session's run. Locally cancelling its handler is enough (the run lives in it); a run on a
        cluster worker is cancelled through its workflow."""
        run_id = session.trace.run_id
        if self.cluster is not None and run_id:
            await self.engine_for(session).stop(run_id, owner=session.owner_id)

    # ---- optional parts ----------------------------------------------------------------------
    def mlflow_tracer(self) -> Any:
        """The shared MLflow tracer, created on first use (None when MLflow cannot start)."""
        with self._lock:
            if self._tracer is None:
                try:
                    from history.mlflow_sink import MlflowTracer

                    on_trace = self.history.set_trace_id if self.history is not None else None
                    self._tracer = MlflowTracer(self.data_dir, on_trace_id=on_trace)
                except Exception as exc:  # MLflow is optional: say so, keep running
                    log.warning("MLflow tracing unavailable: %s", exc)
                    self._tracer = False
            return self._tracer or None

    def sandbox_available(self, max_age: float = 30.0) -> bool:
        """Whether Docker answers (cached briefly: the Run tab asks on every config change)."""
        now = time.monotonic()
        cached = self._sandbox
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
        from orchestrator.sandbox import docker_available

        ok = docker_available(timeout=1.0)
        self._sandbox = (now, ok)
        return ok

    def warm_up(self, delay: float = 0.2) -> threading.Thread:
        """Pay the first run's one-off costs in the background (`orchestrator.warm`), once the first
        page had its chance, so the first run after start is as quick as the next ones."""

        def _work() -> None:
            time.sleep(delay)
            try:
                from orchestrator.warm import warm_run_path

                models = (self.policy.default_model,) if self.policy.default_model else ()
                done = warm_run_path(models)
                log.info("warm-up done in %.1fs (offline run: %s)", done.seconds, done.offline_run)
            except Exception as exc:  # a missing optional part must not kill the app
                log.warning("warm-up incomplete: %s", exc)
            while True:  # containers whose owning app died (kill -9) are removed within one interval
                _sweep_sandbox_containers()
                time.sleep(sweep_interval())

        thread = threading.Thread(target=_work, name="graphwright-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        tracer = self._tracer
        if tracer:  # first: its last traces hand their ids to the history
            tracer.close()
        if self.history is not None:
            self.history.close()


def sweep_interval() -> float:
    """Seconds between sweeps for orphaned sandbox containers (`GRAPHWRIGHT_SANDBOX_SWEEP_S`, default 30)."""
    try:
        return max(1.0, float(os.environ.get("GRAPHWRIGHT_SANDBOX_SWEEP_S", "30")))
    except ValueError:
        return 30.0


def _sweep_sandbox_containers() -> None:
    """Remove sandbox containers whose owning app process is gone (none when no daemon)."""
    from orchestrator.sandbox import docker_available, remove_stale_containers

    try:
        if docker_available():
            removed = remove_stale_containers()
            if removed:
                log.info("removed %d stale sandbox container(s)", removed)
    except Exception as exc:  # housekeeping must never take the app down
        log.warning("could not sweep stale sandbox containers: %s", exc)
