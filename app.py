"""graphwright's entry point: `python app.py` (what Hugging Face Spaces runs).

Opens the run history for the data directory (`GRAPHWRIGHT_DATA_DIR`), builds the UI and serves it.
A second app on the same data directory exits at once with a clear message. LiteLLM, LangGraph
and MLflow are not imported here: a background thread warms them up after the server is up.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # no `.env` loading at LiteLLM's import
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from history.errors import HistoryLocked
    from ui.services import AppServices

    try:
        services = AppServices.create()
    except HistoryLocked as exc:
        print(f"graphwright: cannot start: {exc}", file=sys.stderr)
        return 2
    from ui.app import build_app, launch_kwargs, server_host

    demo = build_app(services)
    kwargs = launch_kwargs(services)
    host, why = server_host()
    logging.getLogger("graphwright").info("listening on http://%s:%s (%s)", host, kwargs["server_port"], why)
    try:
        demo.launch(prevent_thread_lock=True, **kwargs)  # launch_kwargs skips Gradio's self-check (_frontend)
        services.warm_up()
        demo.block_thread()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
