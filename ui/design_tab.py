"""The Design tab: chat on the left, the YAML editor with live validation and a diagram on the right.

Chat and editor share one draft (`session.chat.draft_yaml`): a chat turn rewrites the editor, a
hand edit becomes the draft the chat continues from. A change that raises powers (new tool, python,
new host, higher budget) is held until the user clicks Confirm.

Every event that changes the draft or the chat also outputs `kept` (the browser's copy, see
`ui.kept_design`) in the same response, so a reload right after a turn shows loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from chatbot.state import TurnResult
from orchestrator.llm_types import ModelParams
from ui import design_versions, kept_design
from ui.downloads import owner_folder
from ui.funnel import UserFacingError, funnel
from ui.issues_view import issues_markdown
from ui.mermaid import mermaid_markdown
from ui.page_assets import KEEP_DRAFT_JS
from ui.safe_text import safe_markdown
from ui.services import AppServices
from ui.session import Session
from ui.uploads import read_upload
from ui.versions_view import diff_markdown

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
MAX_UPLOAD_CHARS = 200_000
STREAM_INTERVAL = 0.1
MODES = ("Guided interview", "Assistant (LLM)")


@dataclass
class DesignTab:
    """The components other tabs wire to."""

    editor: gr.Code
    issues: gr.Markdown
    diagram: gr.Markdown
    chatbot: gr.Chatbot
    mode: gr.Radio  # guided interview or assistant: where the visitor's next message goes
    kept: gr.BrowserState  # the draft and chat, kept in the browser across reloads
    download: gr.DownloadButton


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))


def normalise_message(message: Any) -> str:
    """Text of a chat message from the browser (content blocks) or from gradio_client (a string)."""
    if isinstance(message, dict):
        message = message.get("text", message.get("content", ""))
    if isinstance(message, list):
        return "".join(normalise_message(part) for part in message)
    return "" if message is None else str(message)


def greet(session: Session, stored: Any = None) -> tuple[Any, ...]:
    """A new session opens on what this browser kept (draft and chat), else on the guided interview's
    first question (it needs no model). Returns the chat, editor, issues, diagram, download, the chat mode
    the conversation was in, and what the browser keeps from now on (what it kept, cleaned; or the new
    start when that was someone else's)."""
    kept_design.restore(session, stored)
    if not session.chat.messages:
        from chatbot.guided import start_guided

        start_guided(session.chat)
    issues, diagram = validation_view(session.chat.draft_yaml)
    mode = MODES[1] if session.chat.mode == "llm" else MODES[0]
    return (chat_messages(session), session.chat.draft_yaml, issues, diagram, _download_update(session), mode,
            kept_design.snapshot(session))


def chat_messages(session: Session) -> list[dict[str, str]]:
    """The Chatbot's value, rebuilt from the server's state (never trusted from the browser)."""
    return [{"role": m.role, "content": safe_markdown(m.content)} for m in session.chat.messages]


def validation_view(text: str) -> tuple[str, str]:
    """Issues markdown and diagram markdown for the editor text."""
    from schemas import validate_text

    report = validate_text(text, "workflow.yaml") if text.strip() else None
    if report is None:
        return issues_markdown(_Empty(), text), mermaid_markdown(None)
    return issues_markdown(report, text), mermaid_markdown(report.workflow)


class _Empty:
    ok, errors, warnings, issues = False, (), (), ()


def _pending_view(result: TurnResult) -> tuple[Any, str]:
    if not result.pending_confirmation:
        return gr.update(visible=False), ""
    listed = "\n".join(f"- {safe_markdown(p)}" for p in result.pending_confirmation)
    return gr.update(visible=True), f"**This change raises the workflow's powers:**\n{listed}\n\nApply it?"


def _turn_outputs(session: Session, result: TurnResult) -> tuple[Any, ...]:
    issues, diagram = validation_view(session.chat.draft_yaml)
    if result.errors and not session.chat.draft_yaml.strip():
        issues = "\n".join(f"- {safe_markdown(e)}" for e in result.errors)
    group, pending_md = _pending_view(result)
    estimate = safe_markdown(result.estimate) if result.estimate else ""
    changed = diff_markdown(result.plain_diff, result.diff) if result.diff else gr.skip()
    return (chat_messages(session), "", session.chat.draft_yaml, issues, diagram, group, pending_md,
            estimate, _download_update(session), changed, session, kept_design.snapshot(session))


def build(services: AppServices, session_state: gr.State) -> DesignTab:
    """Lay out the tab and wire its events; returns the components the Run tab reads."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            chatbot = gr.Chatbot(label="Design chat", height=460, allow_tags=False, sanitize_html=True,
                                 placeholder="Describe the workflow you want, or answer the guided questions.",
                                 elem_id="design-chat")
            with gr.Row():
                message = gr.Textbox(placeholder="e.g. Research a topic, then write a short brief",
                                     show_label=False, scale=5, elem_id="chat-input", max_length=8000)
                send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
            mode = gr.Radio(list(MODES), value=MODES[0], label="Chat mode", elem_id="chat-mode",
                            info="The guided interview works offline; the assistant uses your model.")
            with gr.Group(visible=False, elem_id="confirm-box") as confirm_box:
                pending_md = gr.Markdown()
                with gr.Row():
                    confirm_btn = gr.Button("Confirm", variant="primary", elem_id="confirm-powers")
                    reject_btn = gr.Button("Reject", variant="stop", elem_id="reject-powers")
            estimate = gr.Markdown(elem_id="estimate")
        with gr.Column(scale=6):
            with gr.Row():
                example = gr.Dropdown(example_names(), label="Examples", scale=3, elem_id="example-pick")
                load_example = gr.Button("Load example", scale=1, elem_id="load-example")
                upload = gr.UploadButton("Open file…", file_types=[".yaml", ".yml"], scale=1,
                                         elem_id="open-file")
                download = gr.DownloadButton("Download", scale=1, elem_id="download-yaml", visible=False)
            editor = gr.Code(language="yaml", label="workflow.yaml", lines=22, max_lines=40,
                             interactive=True, elem_id="yaml-editor", wrap_lines=True)
            issues = gr.Markdown(issues_markdown(_Empty(), ""), elem_id="yaml-issues")
            with gr.Accordion("Diagram", open=True):
                diagram = gr.Markdown(mermaid_markdown(None), elem_id="diagram")
            with gr.Accordion("What changed", open=True, elem_id="draft-changes"):
                with gr.Row():
                    earlier = gr.Dropdown([], label="An earlier version from your run history", scale=4,
                                          elem_id="design-version-pick")
                    diff_earlier = gr.Button("Diff the draft against it", scale=1, elem_id="design-version-diff")
                changed = gr.Markdown(elem_id="draft-changed")

    kept = gr.BrowserState(None, storage_key=kept_design.STORAGE_KEY, secret=kept_design.STORAGE_SECRET)
    turn_outputs = [chatbot, message, editor, issues, diagram, confirm_box, pending_md, estimate, download,
                    changed, session_state, kept]

    def keep(event: Any) -> None:
        """After `event`: mark the text the server wrote in the editor, at once in the page (the visitor
        may press Ctrl+Z right away). The browser's copy came with the event's own outputs."""
        event.then(None, [editor], None, js=KEEP_DRAFT_JS, api_visibility="private", queue=False)

    @funnel
    async def chat(text: Any, chat_mode: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        text = normalise_message(text).strip()
        if not text:
            raise UserFacingError("Type a message first.")
        known = services.credentials_for(session).known_secrets()  # a message holding one is refused
        if chat_mode == MODES[0]:
            from chatbot.guided import guided_turn

            yield _turn_outputs(session, guided_turn(session.chat, text, default_model=services.default_model(session),
                                                     known=known))
            return
        from chatbot.assistant import assistant_turn

        params = ModelParams(model=services.default_model(session))
        streamed: list[str] = []
        stored: Any = None  # the visitor's message shows with the first partial reply: keep it from then on
        turn = asyncio.ensure_future(assistant_turn(session.chat, text, services.client_for(session), params,
                                                    on_token=streamed.append, known=known))
        try:
            while not turn.done():
                await asyncio.wait({turn}, timeout=STREAM_INTERVAL)
                if streamed and not turn.done():
                    partial = [*chat_messages(session), {"role": "assistant",
                                                         "content": safe_markdown("".join(streamed))}]
                    stored = gr.skip() if stored is not None else kept_design.snapshot(session)
                    yield (partial, *[gr.skip()] * (len(turn_outputs) - 2), stored)
            yield _turn_outputs(session, turn.result())
        finally:
            turn.cancel()

    chat_inputs = [message, mode, session_state]
    keep(send.click(chat, chat_inputs, turn_outputs, api_name="chat", concurrency_limit=16, concurrency_id="chat"))
    keep(message.submit(chat, chat_inputs, turn_outputs, api_visibility="private", concurrency_id="chat"))

    @funnel
    def edited(text: str, session: Session) -> tuple[Any, ...]:
        from chatbot.editor import user_edited_yaml

        result = user_edited_yaml(session.chat, text or "", default_model=services.default_model(session))
        refused = bool(result.errors) and session.chat.draft_yaml != (text or "")  # e.g. a pasted key
        if refused:  # the editor goes back to the draft: the page shows what is kept, nothing else
            gr.Warning(result.reply)
        issues_md, diagram_md = validation_view(session.chat.draft_yaml if refused else text or "")
        return (session.chat.draft_yaml if refused else gr.skip(), issues_md, diagram_md, _download_update(session),
                session, kept_design.snapshot(session))

    editor.input(edited, [editor, session_state], [editor, issues, diagram, download, session_state, kept],
                 trigger_mode="always_last", api_visibility="private", show_progress="hidden")

    @funnel
    def settle(accept: bool, session: Session) -> tuple[Any, ...]:
        from chatbot.editor import confirm, reject

        model = services.default_model(session)
        result = confirm(session.chat, default_model=model) if accept else reject(session.chat, default_model=model)
        return _turn_outputs(session, result)

    keep(confirm_btn.click(lambda s: settle(True, s), [session_state], turn_outputs, api_name="confirm_change"))
    keep(reject_btn.click(lambda s: settle(False, s), [session_state], turn_outputs, api_name="reject_change"))

    @funnel
    def load_text(text: str, session: Session) -> tuple[Any, ...]:
        from chatbot.editor import user_edited_yaml

        if len(text) > MAX_UPLOAD_CHARS:
            raise UserFacingError(f"That file has more than {MAX_UPLOAD_CHARS:,} characters, the limit.")
        user_edited_yaml(session.chat, text, default_model=services.default_model(session))
        issues_md, diagram_md = validation_view(session.chat.draft_yaml)
        return (session.chat.draft_yaml, issues_md, diagram_md, _download_update(session), session,
                kept_design.snapshot(session))

    load_outputs = [editor, issues, diagram, download, session_state, kept]

    @funnel
    def pick_example(name: str | None, session: Session) -> tuple[Any, ...]:
        if not name or name not in example_names():
            raise UserFacingError("Pick one of the listed examples first.")
        return load_text((EXAMPLES_DIR / f"{name}.yaml").read_text(), session)

    keep(load_example.click(pick_example, [example, session_state], load_outputs, api_name="load_example"))

    @funnel
    def open_file(path: str | None, session: Session) -> tuple[Any, ...]:
        if not path:
            raise UserFacingError("No file received.")
        try:
            text = read_upload(path, MAX_UPLOAD_CHARS)
        except UnicodeDecodeError:
            raise UserFacingError("That file is not UTF-8 text; open a .yaml config.") from None
        return load_text(text, session)

    keep(upload.upload(open_file, [upload, session_state], load_outputs, api_visibility="private"))
    design_versions.wire(services, session_state, earlier, diff_earlier, editor, changed)
    return DesignTab(editor=editor, issues=issues, diagram=diagram, chatbot=chatbot, mode=mode, kept=kept,
                     download=download)


def _download_update(session: Session) -> Any:
    """Offer the current draft for download (written to a private temp file)."""
    text = session.chat.draft_yaml
    if not text.strip():
        return gr.update(visible=False)
    path = owner_folder(session.owner_id) / "workflow.yaml"
    path.write_text(text, encoding="utf-8")
    return gr.update(value=str(path), visible=True)
