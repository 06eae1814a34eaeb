"""The Design tab's "diff the draft against an earlier version": any version the person ran, from
their run history, compared with the draft in plain words (with the cost change) and as YAML."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.funnel import UserFacingError, funnel
from ui.services import AppServices
from ui.session import Session
from ui.versions_view import diff_markdown, version_choices


def wire(services: AppServices, session_state: gr.State, pick: gr.Dropdown, button: gr.Button,
         editor: gr.Code, out: gr.Markdown) -> None:
    @funnel
    def choices(session: Session) -> Any:
        from history import versions as hv

        if services.history is None:
            return gr.update(choices=[])
        return gr.update(choices=version_choices(hv.versions(services.history.read_cursor(), session.owner_id)))

    @funnel
    def against(version: str | None, text: str, session: Session) -> str:
        from chatbot.diff import yaml_diff
        from chatbot.draft import current_workflow
        from chatbot.plain_diff import plain_diff
        from history import versions as hv
        from schemas.versions import workflow_of

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        if not version:
            raise UserFacingError("Pick an earlier version first (versions appear once you have run a workflow).")
        stored = hv.version_text(services.history.read_cursor(), session.owner_id, version)
        if stored is None:
            raise UserFacingError("That version is not in your run history.")
        draft = current_workflow(text or "")
        if draft is None:
            raise UserFacingError("The draft does not validate yet: fix its errors, then compare.")
        words = plain_diff(workflow_of(stored.canonical), draft, default_model=services.default_model(session))
        return diff_markdown(words.to_text(), yaml_diff(stored.original, text or "", max_lines=200))

    pick.focus(choices, [session_state], [pick], api_visibility="private", queue=False)
    button.click(against, [pick, editor, session_state], [out], api_name="diff_draft_against_version")
