"""The Settings tab: provider keys for this browser session only, the visitor's quotas, the default
model, Ollama, MLflow.

Keys typed here live in the session's `gr.State` in server memory — never on disk, in logs, in
history or in traces — and are shown masked. Keys from the environment (Space secrets) are used
when present and are never shown at all. Every handler here is private: no API client can call it.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from orchestrator.credentials import KEY_ENV
from orchestrator.providers import model_string_problem
from ui.funnel import UserFacingError, funnel
from ui.services import OFFLINE_MODEL, AppServices
from ui.session import Session, mask

_SECRET_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
PROVIDERS = tuple(KEY_ENV)


def keys_markdown(services: AppServices, session: Session) -> str:
    """Which providers can be called, and where their key comes from (session keys masked)."""
    env = services.base_credentials.configured_providers()
    own = services.session_keys(session)
    lines = ["| provider | key |", "|---|---|"]
    for provider in sorted(set(env) | set(own)):
        if provider in session.settings.keys:
            where = f"this session: `{mask(session.settings.keys[provider])}`"
        elif provider in own:
            where = f"your Hugging Face sign-in ({session.user})"
        elif provider in services.base_credentials.keys:
            where = "server environment (secret)"
        else:
            where = "local endpoint (no key needed)"
        lines.append(f"| {provider} | {where} |")
    table = ("No provider keys yet: runs use the offline model (or Ollama, when it runs here)." if len(lines) == 2
             else "\n".join(lines))
    hosted = inference_markdown(services, session)
    return f"{table}\n\n{hosted}" if hosted else table


def inference_markdown(services: AppServices, session: Session) -> str:
    """On a Space: whose Hugging Face token pays for Inference Providers calls, and which model runs."""
    from orchestrator.hf_inference import hosted_default, hosted_model, on_space

    if not on_space():
        return ""
    model = hosted_default(services.credentials_for(session))
    unbilled = "; only *concurrent runs* applies to your runs" if services.visitor_for(session).own_key else ""
    if session.settings.keys.get("huggingface"):
        whose = f"**the Hugging Face key you typed above** (billed to that account{unbilled})"
    elif session.hf_token:
        whose = f"**your own Hugging Face account** ({session.user}, from signing in): billed to you{unbilled}"
    elif "huggingface" in services.base_credentials.keys:
        whose = ("**the Space owner's token** (its `HF_TOKEN` secret): the owner pays, so this Space's quotas "
                 "below apply to your runs")
    else:
        return (f"**Inference Providers**: no Hugging Face token here, so runs use the offline synthetic model "
                f"(its answers are made up, and labelled). Sign in with Hugging Face, or the Space owner adds an "
                f"`HF_TOKEN` secret, for real answers from `{hosted_model()}`.")
    return f"**Inference Providers**: calls use {whose}. Default model: `{model}`."


def quotas_markdown(services: AppServices, session: Session) -> str:
    """This visitor's quotas, what is used and when each resets (refreshed on load and on demand)."""
    visitor = services.visitor_for(session)
    tier = "signed-in" if visitor.signed_in else "anonymous"
    lines = [f"**Your quotas** ({tier} visitor):"]
    for line in services.quotas.report(visitor):
        lines.append(f"- {line.text()}")
    if visitor.own_key:
        lines.append("\nYour runs use your own keys: only *concurrent runs* applies to them.")
    else:
        lines.append("\nRuns on the server's keys count against these; add your own key above to run beyond them.")
    return "\n".join(lines)


def secrets_markdown(session: Session) -> str:
    """The named secrets this session set (masked); the environment's are never listed."""
    if not session.settings.secrets:
        return ("No named secrets in this session. A workflow's `{{ secrets.NAME }}` also reads the server's "
                "environment variable `NAME`.")
    rows = [f"| `{name}` | `{mask(value)}` |" for name, value in sorted(session.settings.secrets.items())]
    return "\n".join(["| secret | value |", "|---|---|", *rows])


def function_tools_markdown() -> str:
    """The Python functions installed on this server that configs may name as `type: function` tools."""
    from schemas.functions import installed_functions

    installed = installed_functions()
    lines = ["| function | from | what it does |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.source} | {f.description} |" for f in installed.functions.values()]
    lines += [f"\n⚠ {problem}" for problem in installed.problems]
    return "\n".join(lines)


def space_model_choice() -> list[str]:
    """On a Space: the Inference Providers default, listed (and shown first when a token is at hand)."""
    from orchestrator.hf_inference import hosted_model, on_space

    return [hosted_model()] if on_space() else []


def model_choices(services: AppServices, session: Session, ollama: list[str] | None = None) -> list[str]:
    choices = [OFFLINE_MODEL, *space_model_choice(), *(f"ollama_chat/{m}" for m in ollama or [])]
    if session.settings.default_model and session.settings.default_model not in choices:
        choices.append(session.settings.default_model)
    return choices


def _workers_section(services: AppServices, session_state: gr.State) -> None:
    """Cluster mode: the live workers from Temporal, for operators (`ui.workers_view`)."""
    from ui.workers_view import OPERATORS_ENV, is_operator, workers_markdown

    gr.Markdown("### Workers\nThe processes that execute runs (cluster mode), as Temporal sees them polling.")
    workers_md = gr.Markdown(elem_id="worker-health")
    refresh = gr.Button("Refresh workers", size="sm", elem_id="worker-refresh")

    @funnel
    async def show(session: Session) -> str:
        if not is_operator(session.user):
            return f"Only operators see worker health (signed-in users named in `{OPERATORS_ENV}`)."
        return workers_markdown(await services.cluster.live_workers(), services.cluster.settings.task_queue)

    refresh.click(show, [session_state], [workers_md], api_visibility="private")


def build(services: AppServices, session_state: gr.State) -> list[Any]:
    """Lay out the tab; returns the components whose values other tabs refresh on load."""
    if services.storage_warning:
        gr.Markdown(f"⚠ **Storage**: {services.storage_warning}.", elem_id="storage-warning")
    gr.Markdown("Keys you enter here are kept **only for this browser session**, in the server's memory: "
                "never written to disk, logs, run history or traces. Keys set as environment variables "
                "(for example Space secrets) are used automatically.")
    with gr.Row():
        with gr.Column():
            provider = gr.Dropdown(list(PROVIDERS), value="openai", label="Provider", elem_id="key-provider")
            key = gr.Textbox(label="API key", type="password", placeholder="paste the key", elem_id="key-value")
            with gr.Row():
                save_key = gr.Button("Use this key for my session", variant="primary", elem_id="key-save")
                forget = gr.Button("Forget my keys", elem_id="key-forget")
            keys_md = gr.Markdown(elem_id="key-status")
            quota_md = gr.Markdown(elem_id="quota-status")
            refresh_quotas = gr.Button("Refresh quotas", size="sm", elem_id="quota-refresh")
        with gr.Column():
            hosted = space_model_choice()
            model = gr.Dropdown([OFFLINE_MODEL, *hosted], value=(hosted or [OFFLINE_MODEL])[0], label="Default model",
                                allow_custom_value=True, elem_id="default-model",
                                info="Used by workflows without a `default_model`, and by the assistant chat.")
            detect = gr.Button("Detect Ollama models", elem_id="detect-ollama")
            ollama_md = gr.Markdown(elem_id="ollama-status")
            mlflow = gr.Checkbox(label="Trace my runs to MLflow (local store in the data directory)",
                                 value=False, elem_id="mlflow-toggle")

    gr.Markdown("### Named secrets\nFor http tools that read `{{ secrets.NAME }}` (for example a search API key). "
                "A secret is sent only to the hosts its workflow binds it to, and only for this session.")
    with gr.Row():
        secret_name = gr.Textbox(label="Secret name", placeholder="SERPER_API_KEY", elem_id="secret-name")
        secret_value = gr.Textbox(label="Value", type="password", placeholder="paste the value",
                                  elem_id="secret-value")
        save_secret = gr.Button("Use this secret for my session", elem_id="secret-save")
    secrets_md = gr.Markdown(elem_id="secret-status")
    gr.Markdown("### Function tools installed on this server\nConfigs name them as `type: function` tools; they "
                "run in the app's process (see SECURITY.md).")
    gr.Markdown(function_tools_markdown(), elem_id="function-tools")
    if services.cluster is not None:
        _workers_section(services, session_state)

    @funnel
    def keep_secret(name: str, value: str, session: Session) -> tuple[Any, ...]:
        name, value = (name or "").strip(), (value or "").strip()
        if not _SECRET_NAME_RE.fullmatch(name):
            raise UserFacingError("Name the secret as the workflow does: capitals, digits and _, e.g. SERPER_API_KEY.")
        if not value or len(value) > 2000 or any(c in value for c in "\r\n"):
            raise UserFacingError("Paste the secret's value: one line.")
        session.settings.secrets[name] = value
        gr.Info(f"{name} set for this session ({mask(value)}).")
        return "", secrets_markdown(session), session

    save_secret.click(keep_secret, [secret_name, secret_value, session_state], [secret_value, secrets_md, session_state],
                      api_visibility="private")

    @funnel
    def save(name: str, value: str, session: Session) -> tuple[Any, ...]:
        value = (value or "").strip()
        if name not in PROVIDERS:
            raise UserFacingError(f"Pick a provider from the list (not '{name}').")
        if not value or len(value) > 500 or any(c.isspace() for c in value):
            raise UserFacingError("Paste the key itself: one word, no spaces.")
        session.settings.keys[name] = value
        gr.Info(f"{name} key set for this session ({mask(value)}).")
        return "", keys_markdown(services, session), quotas_markdown(services, session), session

    save_key.click(save, [provider, key, session_state], [key, keys_md, quota_md, session_state],
                   api_visibility="private")

    def forget_keys(session: Session) -> tuple[Any, ...]:
        session.settings.keys.clear()
        session.settings.secrets.clear()
        return keys_markdown(services, session), quotas_markdown(services, session), secrets_markdown(session), session

    forget.click(forget_keys, [session_state], [keys_md, quota_md, secrets_md, session_state],
                 api_visibility="private")
    refresh_quotas.click(funnel(lambda session: quotas_markdown(services, session)), [session_state], [quota_md],
                         api_visibility="private")

    @funnel
    def set_model(name: str, session: Session) -> Session:
        name = (name or "").strip()
        problem = model_string_problem(name) if name else None
        if problem:
            raise UserFacingError(problem + ".")
        session.settings.default_model = name
        return session

    model.change(set_model, [model, session_state], [session_state], api_visibility="private")

    def detect_models(session: Session) -> tuple[Any, ...]:
        from orchestrator.providers import detect_ollama

        found = detect_ollama(timeout=0.5)
        note = (f"Ollama serves: {', '.join('`' + m + '`' for m in found)}" if found
                else "No Ollama answered on this machine.")
        return gr.update(choices=model_choices(services, session, found)), note

    detect.click(detect_models, [session_state], [model, ollama_md], api_visibility="private")

    def set_mlflow(on: bool, session: Session) -> Session:
        session.settings.mlflow = bool(on)
        if on and services.mlflow_tracer() is None:
            session.settings.mlflow = False
            gr.Warning("MLflow tracing could not start here; runs are still recorded in the history.")
        return session

    mlflow.change(set_mlflow, [mlflow, session_state], [session_state], api_visibility="private")
    return [keys_md, quota_md, model, mlflow, secrets_md]
