"""The Analytics tab's versions panel: runs by config version (estimate vs actual) and any two
versions of the person's workflows side by side, what changed and how their runs compare.

Both sides are read over the same period (the tab's Period filter), always for the session's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from ui import versions_view as vv
from ui.funnel import UserFacingError, funnel
from ui.services import AppServices
from ui.session import Session

ANY = "(any)"


@dataclass
class VersionsPanel:
    table: gr.Dataframe
    a: gr.Dropdown
    b: gr.Dropdown

    @property
    def outputs(self) -> list[Any]:
        return [self.table, self.a, self.b]

    def refresh(self, cur: Any, session: Session, f: Any) -> tuple[Any, ...]:
        """The version filter's choices, the per-version table, and the A/B choices."""
        from history import versions as hv

        choices = vv.version_choices(hv.versions(cur, session.owner_id))
        return (gr.update(choices=[(ANY, ANY), *choices]), vv.version_table(hv.by_version(cur, f)),
                gr.update(choices=choices), gr.update(choices=choices))


def build(services: AppServices, session_state: gr.State, span: gr.Dropdown) -> VersionsPanel:
    with gr.Accordion("Versions: estimate vs actual, and two versions side by side", open=True,
                      elem_id="an-versions-panel"):
        table = gr.Dataframe(label="Runs by config version (actual ÷ estimate: how far off the pre-run estimate was)",
                             interactive=False, elem_id="an-versions", max_height=300)
        with gr.Row():
            a = gr.Dropdown([], label="Version A", elem_id="an-version-a", scale=3)
            b = gr.Dropdown([], label="Version B", elem_id="an-version-b", scale=3)
            open_btn = gr.Button("Open side by side", elem_id="an-compare-open", scale=1)
        compared = gr.HTML("", elem_id="an-compare", js_on_load=None)
        changed = gr.Markdown(elem_id="an-compare-diff")

    @funnel
    def side_by_side(a_hash: str | None, b_hash: str | None, span_v: str, session: Session) -> tuple[str, str]:
        from chatbot.diff import yaml_diff
        from chatbot.plain_diff import plain_diff
        from history import versions as hv
        from history.queries import Filters
        from schemas.versions import workflow_of
        from ui.analytics_view import date_from

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        if not a_hash or not b_hash:
            raise UserFacingError("Pick two versions (A and B) first.")
        cur = services.history.read_cursor()
        texts = [hv.version_text(cur, session.owner_id, h) for h in (a_hash, b_hash)]
        if texts[0] is None or texts[1] is None:
            raise UserFacingError("That version is not in your run history.")
        f = Filters(owner=session.owner_id, date_from=date_from(span_v))
        frame = hv.compare(cur, f, texts[0].hash, texts[1].hash)
        labels = (vv.version_label(texts[0].hash, texts[0].first_seen), vv.version_label(texts[1].hash, texts[1].first_seen))
        before, after = (workflow_of(t.canonical) for t in texts)
        words = plain_diff(before, after, default_model=services.default_model(session)).to_text()
        return vv.compare_html(frame, labels), vv.diff_markdown(words, yaml_diff(texts[0].canonical, texts[1].canonical,
                                                                                  max_lines=200))

    open_btn.click(side_by_side, [a, b, span, session_state], [compared, changed], api_name="compare_versions")
    return VersionsPanel(table, a, b)
