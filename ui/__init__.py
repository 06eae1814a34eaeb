"""The Gradio UI: one module per tab, pure mappers beside them, thin wiring in `ui.app`.

    from ui.app import build_app, launch_kwargs
    from ui.services import AppServices

    services = AppServices.create()           # opens the run history (raises HistoryLocked)
    build_app(services).launch(**launch_kwargs(services))

Mappers tested without a server: `trace_view` (events → timeline), `mermaid` (workflow → diagram),
`forms` (inputs ↔ form), `issues_view`, `analytics_view`, `streaming` (batching), `safe_text`.
Per-session state lives in `session.Session` inside `gr.State`; errors reach the page via `funnel`.
"""
