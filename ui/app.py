"""The Gradio app: four tabs over the core packages, plus `/healthz`, and the launch settings.

`build_app(services)` lays out the tabs and wires them; `launch_kwargs(services)` is everything
`launch()` needs to be safe on a public Space: the data directory blocked, uploads and the queue
bounded (and metered per visitor, `ui.uploads`), Gradio's browser-side run history off, theme/CSS given to `launch()` as Gradio 6 wants.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ui import account, analytics_tab, design_tab, run_tab, settings_tab
from ui.fairness import share_queue_fairly
from ui.page_assets import CHAT_TO_TOP_JS, KEEP_DRAFT_JS, LAYOUT_CSS, PAGE_JS, TITLE_HTML
from ui.services import AppServices
from ui.session import Session, adopt_browser_owner, adopt_user, new_session
from ui.uploads import UploadBudget

# BrowserState encrypts in the page with this key, so it is no secret (the page receives it); it
# only has to stay the same across restarts for the browser to read back what it stored.
OWNER_STORAGE = ("graphwright-owner", "graphwright-owner-v1")
MAX_FILE_SIZE = "1mb"
QUEUE_MAX_SIZE = 64
CSS = """
.gw-trace table {width: 100%; border-collapse: collapse; font-size: 0.9em}
.gw-trace td, .gw-trace th {padding: 4px 6px; border-bottom: 1px solid var(--border-color-primary);
  text-align: left; vertical-align: top}
.gw-icon {font-weight: 700}
.gw-trace tr[data-status=ok] .gw-icon {color: #15803d}
.gw-trace tr[data-status=failed] .gw-icon {color: #b91c1c}
.gw-trace tr[data-status=running] .gw-icon {color: #2563eb}
.gw-trace tr[data-status=waiting] .gw-icon {color: #b45309}
.gw-err {color: var(--error-text-color, #b91c1c); white-space: pre-wrap}
.gw-tools pre {white-space: pre-wrap; max-height: 12em; overflow: auto}
.gw-kpis {display: flex; flex-wrap: wrap; gap: 8px}
.gw-kpi {flex: 1 1 120px; padding: 8px 12px; border: 1px solid var(--border-color-primary); border-radius: 8px}
.gw-kpi-label {font-size: 0.8em; opacity: 0.7}
.gw-kpi-value {font-size: 1.3em; font-weight: 600}
.gw-diff {white-space: pre-wrap; font-size: 0.85em}
.gw-diff-add {display: block; background: rgba(21, 128, 61, 0.15)}
.gw-diff-del {display: block; background: rgba(185, 28, 28, 0.15)}
.gw-diff-hdr, .gw-diff-ctx {display: block; opacity: 0.75}
"""


def build_app(services: AppServices) -> gr.Blocks:
    """The whole UI; every session gets its own `Session` through `gr.State`."""
    # delete_cache: Gradio's copies of outputs (exports, downloads) expire after an hour.
    with gr.Blocks(title="graphwright", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        session_state = gr.State(new_session)
        kept_owner = gr.BrowserState("", storage_key=OWNER_STORAGE[0], secret=OWNER_STORAGE[1])
        gr.HTML(TITLE_HTML, elem_id="gw-header")
        account_bar = account.build(services, session_state, kept_owner)  # on a Space with OAuth only
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Design", id="design", elem_id="tab-design"):
                design = design_tab.build(services, session_state)
            with gr.Tab("Run", id="run", elem_id="tab-run"):
                run = run_tab.build(services, session_state, design)
            with gr.Tab("Analytics", id="analytics", elem_id="tab-analytics") as analytics:
                refresh = analytics_tab.build(services, session_state)
            with gr.Tab("Settings", id="settings", elem_id="tab-settings"):
                settings_outputs = settings_tab.build(services, session_state)
        analytics.select(lambda: None, None, None, js=_click(refresh), api_visibility="private", queue=False)

        def on_load(session: Session, stored_owner: Any, stored_design: Any, request: gr.Request) -> tuple[Any, ...]:
            owner = adopt_browser_owner(session, stored_owner)
            adopt_user(session, request)
            if services.mlflow_default and not session.chat.messages:
                session.settings.mlflow = True
            return (settings_tab.keys_markdown(services, session), settings_tab.quotas_markdown(services, session),
                    session.settings.mlflow, settings_tab.secrets_markdown(session),
                    *design_tab.greet(session, stored_design), session, owner)

        keys_md, quota_md, _model, mlflow_box, secrets_md = settings_outputs
        loaded = demo.load(on_load, [session_state, kept_owner, design.kept],
                           [keys_md, quota_md, mlflow_box, secrets_md, design.chatbot, design.editor, design.issues,
                            design.diagram, design.download, design.mode, design.kept, session_state, kept_owner],
                           api_visibility="private", queue=False)
        loaded.then(run.list_resumable, [session_state], run.resumable_outputs, api_visibility="private")
        loaded.then(run.follow_running, [session_state], run.trace_outputs, api_visibility="private",
                    concurrency_id="runs", show_progress="minimal")
        if account_bar is not None:
            loaded.then(lambda session: account.refresh(services, session), [session_state], account_bar.outputs,
                        api_visibility="private")
            account_bar.claimed.then(run.list_resumable, [session_state], run.resumable_outputs, api_visibility="private")
        loaded.then(None, [design.editor], None, js=KEEP_DRAFT_JS, api_visibility="private", queue=False)
        loaded.then(None, None, None, js=CHAT_TO_TOP_JS, api_visibility="private", queue=False)
    _hide_state_factories(demo)
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX_SIZE)
    share_queue_fairly(demo)
    return demo


def _hide_state_factories(demo: gr.Blocks) -> None:
    """`gr.State(new_session)` and the login button's label check add public load endpoints; neither is an API."""
    internal = {new_session.__name__, "_check_login_status"}
    for fn in demo.fns.values():
        if getattr(fn.fn, "__name__", "") in internal:
            fn.api_visibility = "private"


def _click(button: gr.Button) -> str:
    """JS that clicks `button` in the browser (refreshing the dashboards when the tab opens)."""
    return f"() => {{ document.querySelector('#{button.elem_id} button, #{button.elem_id}')?.click(); }}"


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "app": "graphwright"})


def server_host(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The address to listen on, and why: loopback for a local start (the app has no login), every
    interface only where the platform needs it (a Space; the Docker image sets GRADIO_SERVER_NAME)."""
    env = os.environ if environ is None else environ
    if env.get("GRADIO_SERVER_NAME"):
        return env["GRADIO_SERVER_NAME"], "from GRADIO_SERVER_NAME"
    if env.get("SPACE_ID"):
        return "0.0.0.0", "a Hugging Face Space (SPACE_ID is set)"
    return "127.0.0.1", "local start: this machine only; set GRADIO_SERVER_NAME=0.0.0.0 to open it to the network"


def launch_kwargs(services: AppServices) -> dict[str, Any]:
    """Arguments for `demo.launch()`: host/port from the environment, the safety limits, theme and CSS."""
    return {
        "server_name": server_host()[0],
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "blocked_paths": [str(services.data_dir.resolve())],
        "max_file_size": MAX_FILE_SIZE,
        "run_history": False,
        # Gradio's /monitoring shows every visitor's events and logs its secret URL: operators opt in.
        "enable_monitoring": os.environ.get("GRAPHWRIGHT_MONITORING", "").strip().lower() in {"1", "true", "yes"},
        "footer_links": ["api"],
        "show_error": True,
        "app_kwargs": {"routes": [Route("/healthz", _healthz)], "middleware": [Middleware(UploadBudget)]},
        "theme": gr.themes.Soft(),
        "css": CSS + LAYOUT_CSS,
        "js": PAGE_JS,
        "ssr_mode": False,
        # Gradio probes its own page once the server is up and raises when a HEAD takes over 3 s (on a
        # loaded machine, e.g. a busy node starting replicas: the app died at start, seen here at load 25);
        # the probe only exists to suggest share links in notebooks.
        "_frontend": False,
    }
