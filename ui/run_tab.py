"""The Run tab: a form from the config's inputs, Run/Stop, and the live trace as it happens.

The run handler is a public endpoint, so it trusts nothing from the page: it validates the config
itself, refuses raised powers the user has not allowed (the same rule as the chat), checks the
inputs, and admits the run through the visitor's quotas (`history.quotas`). Events are batched (`ui.streaming.batched`) so a fast model means a few redraws a second.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from chatbot.run_origin import run_origin
from orchestrator.providers import model_string_problem
from ui import checks_view, forms, kept_design
from ui.downloads import artifact_downloads
from ui.funnel import UserFacingError, funnel
from ui.run_views import refused, stream, views
from ui.safe_text import safe_markdown
from ui.services import AppServices
from ui.session import Session
from ui.trace_view import TraceView

if TYPE_CHECKING:
    from ui.design_tab import DesignTab



@dataclass
class RunTab:
    config: gr.Code
    status: gr.Markdown
    resumable: gr.Dropdown
    resumable_outputs: list[Any]  # the paused-runs bar: its list and its visibility
    list_resumable: Callable[[Session], Any]  # this session's paused and interrupted runs
    follow_running: Callable[[Session], Any]  # on page load: this visitor's run going on elsewhere, followed live
    trace_outputs: list[Any]


def powers_of(workflow: Any) -> list[str]:
    """What this config may do beyond a plain LLM workflow (from `schemas.powers`)."""
    from schemas.powers import raised_powers

    return list(raised_powers(None, workflow))


def load_config(text: str, services: AppServices, session: Session) -> Any:
    """Validate `text` for running; raises with every problem listed."""
    from schemas import validate_text
    from schemas.errors import ConfigError

    if not text or not text.strip():
        raise UserFacingError("There is no config to run: build one on the Design tab or open a file.")
    report = validate_text(text, "workflow.yaml", sandbox_available=services.sandbox_available())
    if not report.ok:
        raise ConfigError(report.errors)
    return report.workflow


def is_design_draft(text: str, workflow: Any, session: Session) -> bool:
    """Whether `workflow` is the session's Design draft (which the user wrote or confirmed there).

    Compared as parsed workflows: the editor may drop a trailing newline or reformat nothing else.
    """
    if text == session.chat.draft_yaml:
        return True
    from chatbot.draft import current_workflow

    draft = current_workflow(session.chat.draft_yaml) if session.chat.draft_yaml.strip() else None
    return draft is not None and draft == workflow


def preflight_markdown(workflow: Any, services: AppServices, text: str, session: Session) -> str:
    """What to know before pressing Run: powers to allow, a missing sandbox, the budget."""
    lines = [f"**{safe_markdown(workflow.name)}** · budget ${workflow.limits.max_cost_usd:.2f}, "
             f"{workflow.limits.max_steps} steps, {workflow.limits.timeout_seconds:g}s"]
    has_python = any(getattr(t, "type", "") == "python" for t in workflow.tools.values())
    if has_python and not services.sandbox_available():
        lines.append("⚠ This workflow has a `python` tool, but Docker is not available on this server: "
                     "steps that run code will fail. Remove the tool or run graphwright where Docker runs.")
    elif has_python:
        from orchestrator.sandbox import missing_images

        lines.extend(f"⚠ {safe_markdown(note)} Until then, steps that run code will fail."
                     for note in missing_images(workflow, services.policy.sandbox_image))
    from orchestrator.named_secrets import missing_secrets

    missing = missing_secrets(workflow, services.credentials_for(session))
    if missing:
        lines.append("⚠ This workflow's http tools need " + ", ".join(f"`{n}`" for n in missing)
                     + ": add it under Settings → Named secrets (or set the environment variable of that name "
                     "on the server). The run will not start without it.")
    powers = powers_of(workflow)
    if powers and not is_design_draft(text, workflow, session):
        lines.append("⚠ This config is not your Design draft and it raises powers: "
                     + "; ".join(safe_markdown(p) for p in powers) + ". Tick *Allow* to run it.")
    return "\n\n".join(lines)


def build(services: AppServices, session_state: gr.State, design: DesignTab) -> RunTab:
    from ui.design_tab import example_names

    with gr.Group(visible=False, elem_id="run-paused") as paused_bar:
        gr.Markdown("**Your paused and interrupted runs** — approve, reject or resume one here.")
        with gr.Row(equal_height=True):
            resumable = gr.Dropdown([], show_label=False, elem_id="run-resumable", scale=4,
                                    allow_custom_value=True)  # the handlers check ownership
            paused_note = gr.Textbox(placeholder="Feedback (optional)", show_label=False, scale=3,
                                     elem_id="paused-feedback")
            resume_btn = gr.Button("Resume", size="sm", elem_id="run-resume", scale=1)
            paused_approve = gr.Button("Approve", size="sm", variant="primary", elem_id="paused-approve", scale=1)
            paused_reject = gr.Button("Reject", size="sm", variant="stop", elem_id="paused-reject", scale=1)
            refresh_btn = gr.Button("Refresh", size="sm", elem_id="run-refresh", scale=1)
    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            with gr.Row(equal_height=True):
                example = gr.Dropdown(example_names(), value=None, label="Example", elem_id="run-example-pick",
                                      scale=3)
                load_example = gr.Button("Load example", size="sm", elem_id="run-load-example", scale=1)
            with gr.Accordion("Config (from the Design tab)", open=False):
                config = gr.Code(language="yaml", lines=12, max_lines=30, interactive=True, elem_id="run-config",
                                 label="workflow.yaml")
                upload = gr.UploadButton("Run a file instead…", file_types=[".yaml", ".yml"], elem_id="run-upload")
            preflight = gr.Markdown(elem_id="run-preflight")
            allow = gr.Checkbox(label="Allow this config's raised powers", value=False, elem_id="run-allow",
                                visible=False)
            slot_texts, slot_flags, slot_files = [], [], []
            for i in range(forms.SLOTS):
                slot_texts.append(gr.Textbox(visible=False, elem_id=f"run-input-{i}"))
                slot_flags.append(gr.Checkbox(visible=False, elem_id=f"run-flag-{i}"))
                slot_files.append(gr.File(visible=False, type="filepath", elem_id=f"run-file-{i}",
                                          file_types=[".txt", ".md", ".markdown", ".csv", ".json"]))
            with gr.Accordion("Inputs as JSON (optional)", open=False):
                extra_json = gr.Textbox(lines=3, placeholder='{"topic": "..."}', show_label=False,
                                        elem_id="run-json")
            model = gr.Dropdown([""], value="", label="Model override", allow_custom_value=True,
                                info="Empty: the config's models. Set: every step uses this model.",
                                elem_id="run-model")
            with gr.Row():
                run_btn = gr.Button("Run", variant="primary", elem_id="run-start")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="run-stop", interactive=False)
        with gr.Column(scale=6):
            status = gr.Markdown("Ready.", elem_id="run-status")
            with gr.Group(visible=False, elem_id="approval-box") as approval_box:
                approval_md = gr.Markdown()
                feedback = gr.Textbox(label="Feedback (optional)", lines=2, elem_id="approval-feedback")
                with gr.Row():
                    approve_btn = gr.Button("Approve", variant="primary", elem_id="approve")
                    reject_btn = gr.Button("Reject", variant="stop", elem_id="reject")
            timeline = gr.HTML("<div class='gw-trace'><em>No run yet.</em></div>", elem_id="run-timeline",
                               js_on_load=None)
            current = gr.Textbox(label="Current step output (streaming)", lines=8, max_lines=16, autoscroll=True,
                                 interactive=False, elem_id="run-current")
            tools = gr.HTML("", elem_id="run-tools", js_on_load=None)
            output = gr.Textbox(label="Final output", lines=6, max_lines=20, interactive=False,
                                elem_id="run-output", buttons=["copy"])
            artifacts = gr.File(label="Files this run wrote", file_count="multiple", interactive=False,
                                visible=False, elem_id="run-artifacts")
            checks_view.build(services, session_state, config, model, allow)

    # Stop is an output of the run handlers themselves: enabled exactly while a run goes on (other
    # listeners updating it on the same clicks broke its cancelling, measured in the browser test)
    trace_outputs = [status, timeline, current, tools, output, approval_box, approval_md, stop_btn, session_state]

    # ---- config → form -------------------------------------------------------------------------
    def form_view(text: str, session: Session) -> tuple[Any, ...]:
        try:
            workflow = load_config(text, services, session)
        except Exception as exc:  # shown inline: a config being edited is often invalid
            from ui.funnel import friendly_message

            hidden = [gr.update(visible=False)] * (3 * forms.SLOTS + 1)
            return (f"✗ {safe_markdown(friendly_message(exc))}", *hidden)
        slots, overflow = forms.layout(workflow)
        texts: list[Any] = [gr.update(visible=False) for _ in range(forms.SLOTS)]
        flags: list[Any] = [gr.update(visible=False) for _ in range(forms.SLOTS)]
        files: list[Any] = [gr.update(visible=False) for _ in range(forms.SLOTS)]
        shown = tuple(f"{workflow.name}/{slot.name}/{slot.kind}" for slot in slots)
        for i, slot in enumerate(slots):  # `info=""`, not None: None would keep the last config's help
            # The same input of the same workflow keeps what the person typed (an edit elsewhere in
            # the config must not wipe it); a new input starts from its default.
            kept = i < len(session.run_form) and session.run_form[i] == shown[i]
            value = {} if kept else {"value": None if slot.kind == "file" else slot.value}
            if slot.kind == "file":
                files[i] = gr.update(visible=True, label=f"{slot.label}: {slot.info}", **value)
            elif slot.kind == "bool":
                flags[i] = gr.update(visible=True, label=slot.label, info=slot.info, **value)
            else:
                texts[i] = gr.update(visible=True, label=slot.label, info=slot.info, lines=slot.lines, **value)
        session.run_form = shown
        note = preflight_markdown(workflow, services, text, session)
        if overflow:
            note += f"\n\nSet {', '.join(overflow)} in *Inputs as JSON*."
        needs_consent = bool(powers_of(workflow)) and not is_design_draft(text, workflow, session)
        return (note, gr.update(visible=needs_consent, value=False), *texts, *flags, *files)

    form_outputs = [preflight, allow, *slot_texts, *slot_flags, *slot_files]
    design.editor.change(lambda text: text, [design.editor], [config], api_visibility="private",
                         show_progress="hidden", queue=False)
    config.change(form_view, [config, session_state], form_outputs, api_visibility="private",
                  trigger_mode="always_last", show_progress="hidden")

    def open_file(path: str | None) -> str:
        from ui.uploads import read_upload

        return read_upload(path, 200_000)[:200_000] if path else ""

    upload.upload(funnel(open_file), [upload], [config], api_visibility="private")

    def file_slot(index: int) -> Any:
        """Keep slot `index`'s upload (its text, size-capped) in the session; the run reads it."""
        @funnel
        def take(path: str | None, text: str, session: Session) -> Session:
            workflow = load_config(text, services, session)
            names = list(workflow.inputs)[: forms.SLOTS]
            if index < len(names):
                name = names[index]
                session.uploads.pop(name, None)
                if path:
                    try:
                        session.uploads[name] = forms.read_upload(name, workflow.inputs[name], path)
                    except forms.FormError as exc:
                        raise UserFacingError("; ".join(exc.problems)) from None
            return session

        return take

    for i, box in enumerate(slot_files):
        box.change(file_slot(i), [box, config, session_state], [session_state], api_visibility="private")

    # ---- run / approve / resume ------------------------------------------------------------------
    @funnel
    def pick_example(name: str | None, session: Session) -> tuple[Any, ...]:
        """An example becomes the Design draft too, so it runs without ticking *Allow* (and the browser
        keeps it, in the same response, like any Design draft)."""
        from chatbot.editor import user_edited_yaml
        from ui.design_tab import EXAMPLES_DIR, validation_view

        if not name or name not in example_names():
            raise UserFacingError("Pick one of the listed examples first.")
        user_edited_yaml(session.chat, (EXAMPLES_DIR / f"{name}.yaml").read_text(encoding="utf-8"),
                         default_model=services.default_model(session))
        issues_md, diagram_md = validation_view(session.chat.draft_yaml)
        return (session.chat.draft_yaml, session.chat.draft_yaml, issues_md, diagram_md, session,
                kept_design.snapshot(session))

    load_example.click(pick_example, [example, session_state],
                       [design.editor, config, design.issues, design.diagram, session_state, design.kept],
                       api_visibility="private")

    # ---- run / approve / resume ------------------------------------------------------------------
    def checked_run(text: str, model_override: str, allowed: bool, json_inputs: str, values: tuple[Any, ...],
                    session: Session) -> tuple[Any, dict[str, Any], str | None]:
        """The workflow, inputs and model override of a run, or the refusal (raised) to show instead."""
        texts, flags = list(values[: forms.SLOTS]), list(values[forms.SLOTS: 2 * forms.SLOTS])
        workflow = load_config(text, services, session)
        powers = powers_of(workflow)
        if powers and not allowed and not is_design_draft(text, workflow, session):
            raise UserFacingError("This config raises powers (" + "; ".join(powers) + "). Review them and tick "
                                  "*Allow this config's raised powers* to run it, or load it in Design first.")
        inputs = forms.collect(workflow, texts, flags, json_inputs or "", session.uploads)
        override = (model_override or "").strip() or None
        problem = model_string_problem(override, workflow.models) if override is not None else None
        if problem:
            raise UserFacingError(problem + ".")
        return workflow, inputs, override

    @funnel
    async def run(text: str, model_override: str, allowed: bool, json_inputs: str, *slot_values: Any
                  ) -> AsyncIterator[tuple[Any, ...]]:
        session: Session = slot_values[-1]
        run_id = uuid.uuid4().hex
        with ExitStack() as held:
            try:
                workflow, inputs, override = checked_run(text, model_override, allowed, json_inputs,
                                                         slot_values[:-1], session)
                held.enter_context(services.quotas.admit(services.visitor_for(session), run_id))
                engine = services.engine_for(session)  # (cluster mode may refuse the visitor's own keys)
            except Exception as exc:  # a refusal (config, inputs, quota, keys) stays in the trace area, worded for people
                yield refused(session, exc)
                return
            session.trace = TraceView(budget_usd=workflow.limits.max_cost_usd, status="running",
                                      message="Starting…", run_id=run_id)  # Stop finds it from the start
            yield views(session)
            origin = run_origin(workflow, text, source="app", default_model=services.default_model(session),
                                override=override,
                                chat=session.chat if is_design_draft(text, workflow, session) else None)
            async for update in stream(session, engine.run(workflow, inputs, owner=session.owner_id,
                                                           run_id=run_id, model_override=override,
                                                           origin=origin)):
                yield update

    def mark_fields(text: str, json_inputs: str, *values: Any) -> list[Any]:
        """Each input's problem next to its field (or its help again once it is fine)."""
        session: Session = values[-1]
        try:
            workflow = load_config(text, services, session)
        except Exception:  # the refusal in the trace says why
            return [gr.skip()] * (2 * forms.SLOTS)
        texts, flags = list(values[: forms.SLOTS]), list(values[forms.SLOTS: 2 * forms.SLOTS])
        try:
            forms.collect(workflow, texts, flags, json_inputs or "")
            problems: dict[str, str] = {}
        except forms.FormError as exc:
            problems = exc.fields
        slots, _overflow = forms.layout(workflow)
        updates: list[Any] = [gr.skip()] * (2 * forms.SLOTS)
        for i, slot in enumerate(slots):
            info = f"✗ {problems[slot.name]}" if slot.name in problems else slot.info
            updates[i if slot.kind == "text" else forms.SLOTS + i] = gr.update(info=info)
        return updates

    run_inputs = [config, model, allow, extra_json, *slot_texts, *slot_flags, session_state]
    run_event = run_btn.click(run, run_inputs, trace_outputs, api_name="run", concurrency_limit=
                              services.max_concurrent_runs, concurrency_id="runs", show_progress="minimal")
    run_btn.click(mark_fields, [config, extra_json, *slot_texts, *slot_flags, session_state],
                  [*slot_texts, *slot_flags], api_visibility="private", show_progress="hidden", queue=False)

    async def decide(approved: bool, note: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        from orchestrator.runner import ApprovalDecision

        trace = session.trace
        if not trace.run_id or trace.approval_step is None:
            raise UserFacingError("No run of yours is waiting for approval.")
        if approved and trace.approval_is_question:  # checked here so the question stays on screen
            from schemas.steps.ask import matching_choice

            if matching_choice(note or "", trace.approval_choices) is None:
                wanted = ("one of " + ", ".join(trace.approval_choices) if trace.approval_choices
                          else "an answer")
                raise UserFacingError(f"Type {wanted} in the box, then press Approve to send it.")
        with services.quotas.admit(services.visitor_for(session)):  # a run slot, no new run
            trace.status, trace.message = "running", "Approved." if approved else "Rejected."
            trace.approval_step = None
            yield views(session)
            engine = services.engine_for(session)
            decision = ApprovalDecision(approved=approved, feedback=(note or "")[:4000])
            async for update in stream(session, engine.resume(trace.run_id, approval=decision,
                                                              owner=session.owner_id)):
                yield update

    @funnel
    async def approve(note: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        async for update in decide(True, note, session):
            yield update

    @funnel
    async def reject(note: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        async for update in decide(False, note, session):
            yield update

    approve_event = approve_btn.click(approve, [feedback, session_state], trace_outputs, api_name="approve",
                                      concurrency_id="runs", show_progress="minimal")
    reject_event = reject_btn.click(reject, [feedback, session_state], trace_outputs, api_name="reject",
                                    concurrency_id="runs", show_progress="minimal")

    @funnel
    def resumable_choices(session: Session) -> tuple[Any, Any]:
        from history.queries import resumable_runs

        if services.history is None:
            return gr.update(choices=[]), gr.update(visible=False)
        df = resumable_runs(services.history.read_cursor(), session.owner_id)
        choices = [(_resumable_label(r), r.run_id) for r in df.itertuples()]
        return (gr.update(choices=choices, value=choices[0][1] if choices else None),
                gr.update(visible=bool(choices)))

    def load_run(run_id: str | None, session: Session) -> None:
        """Put a listed run of this session's owner into the trace, as history recorded it."""
        from history.queries import replay

        if not run_id or services.history is None:
            raise UserFacingError("Pick a paused or interrupted run first.")
        past = replay(services.history.read_cursor(), run_id, session.owner_id)
        if not past:
            raise UserFacingError(f"Run '{run_id}' is not one of yours, or it has no record.")
        session.trace = TraceView()
        session.trace.apply_all(past)

    @funnel
    async def resume(run_id: str | None, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        load_run(run_id, session)
        if session.trace.status == "waiting":  # paused for approval: the buttons resume it
            yield views(session)
            return
        with services.quotas.admit(services.visitor_for(session)):
            session.trace.status, session.trace.message = "running", "Resuming…"
            yield views(session)
            engine = services.engine_for(session)
            async for update in stream(session, engine.resume(session.trace.run_id, approval=None,
                                                              owner=session.owner_id)):
                yield update

    async def decide_listed(approved: bool, run_id: str | None, note: str, session: Session
                            ) -> AsyncIterator[tuple[Any, ...]]:
        try:
            if run_id != session.trace.run_id or session.trace.approval_step is None:
                load_run(run_id, session)
            if session.trace.approval_step is None or session.trace.status != "waiting":
                raise UserFacingError("That run is not waiting for an approval: press *Resume* to continue it.")
        except UserFacingError as exc:
            yield refused(session, exc)
            return
        async for update in decide(approved, note, session):
            yield update

    @funnel
    async def approve_listed(run_id: str | None, note: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        async for update in decide_listed(True, run_id, note, session):
            yield update

    @funnel
    async def reject_listed(run_id: str | None, note: str, session: Session) -> AsyncIterator[tuple[Any, ...]]:
        async for update in decide_listed(False, run_id, note, session):
            yield update

    resumable_outputs = [resumable, paused_bar]
    refresh_btn.click(resumable_choices, [session_state], resumable_outputs, api_visibility="private")
    resume_event = resume_btn.click(resume, [resumable, session_state], trace_outputs, api_name="resume",
                                    concurrency_id="runs", show_progress="minimal")
    listed = [resumable, paused_note, session_state]
    approve_listed_event = paused_approve.click(approve_listed, listed, trace_outputs, api_visibility="private",
                                                concurrency_id="runs", show_progress="minimal")
    reject_listed_event = paused_reject.click(reject_listed, listed, trace_outputs, api_visibility="private",
                                              concurrency_id="runs", show_progress="minimal")

    async def stopped(session: Session) -> tuple[Any, ...]:
        """The engine records the cancellation; the page's trace settles the same way (no row left running)."""
        from orchestrator import events as ev

        await services.stop_run(session)
        trace = session.trace
        if trace.status == "running":
            trace.apply(ev.RunCancelled(run_id=trace.run_id or "-", reason="cancelled"))
            trace.message = "Stopped by you; it is in the list of paused and interrupted runs above."
        return views(session)

    runs = [run_event, approve_event, reject_event, resume_event, approve_listed_event, reject_listed_event]
    stop_btn.click(stopped, [session_state], trace_outputs, api_visibility="private", cancels=runs, queue=False)

    @funnel
    async def follow_running(session: Session) -> AsyncIterator[tuple[Any, ...]]:
        """On page load: the visitor's run going on outside this page — started before a reload, or through
        another replica — shows from its recorded events, then live. The executor says whether there is one."""
        events = services.follow_running(session)
        first = await anext(events, None)
        if first is None:
            yield tuple(gr.skip() for _ in trace_outputs)
            return
        session.trace = TraceView(status="running", message="Following your run…", run_id=first.run_id)
        async for update in stream(session, _after(first, events)):
            yield update

    def show_artifacts(session: Session) -> Any:
        paths = artifact_downloads(services.data_dir, session.trace.run_id, session.owner_id)
        return gr.update(value=paths or None, visible=bool(paths))

    for event in runs:
        event.then(resumable_choices, [session_state], resumable_outputs, api_visibility="private")
        event.then(show_artifacts, [session_state], [artifacts], api_visibility="private")
    return RunTab(config=config, status=status, resumable=resumable, resumable_outputs=resumable_outputs,
                  list_resumable=resumable_choices, follow_running=follow_running, trace_outputs=trace_outputs)


async def _after(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for event in rest:
        yield event


def _resumable_label(run: Any) -> str:
    what = "waiting for approval" if run.reason == "approval" else (
        "stopped" if run.status == "cancelled" else f"interrupted ({run.reason or 'crash'})")
    return f"{run.workflow} · {what} · {str(run.started_at)[:19]}"
