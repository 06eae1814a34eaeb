"""The pure parts of the UI, tested without a server: diagrams, forms, traces, batching, escaping."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from orchestrator import events as ev
from schemas.models import Workflow
from ui.forms import MAX_INPUT_CHARS, MAX_INPUTS_CHARS, SLOTS, FormError, collect, layout
from ui.mermaid import mermaid_markdown, to_mermaid
from ui.safe_text import esc, safe_markdown
from ui.session import Session, SessionSettings, mask
from ui.streaming import batched
from ui.trace_view import TraceView


def _workflow(**extra: object) -> Workflow:
    data = {
        "version": 1,
        "name": "brief",
        "inputs": {
            "topic": {"type": "string", "description": "What to write about"},
            "words": {"type": "integer", "default": 200},
            "strict": {"type": "boolean"},
            "sources": {"type": "list", "default": ["a", "b"]},
        },
        "agents": {"writer": {"role": "Writer"}, "editor": {"role": "Editor"}},
        "steps": [
            {"id": "draft", "type": "agent", "agent": "writer", "prompt": "Write about {{ inputs.topic }}"},
            {"id": "both", "type": "parallel", "branches": [
                {"id": "a", "type": "agent", "agent": "writer", "prompt": "x"},
                {"id": "b", "type": "agent", "agent": "editor", "prompt": "y"},
            ]},
            {"id": "pick", "type": "route", "on": "{{ inputs.topic }}",
             "cases": [{"when": "cats", "steps": [{"id": "c", "type": "agent", "agent": "writer", "prompt": "z"}]}],
             "default": []},
            {"id": "polish", "type": "loop", "until": "steps.edit.output == 'ok'", "max_iterations": 3,
             "steps": [{"id": "edit", "type": "agent", "agent": "editor", "prompt": "e"}]},
            {"id": "ok", "type": "approval", "message": "Publish?"},
        ],
    }
    data.update(extra)
    return Workflow.model_validate(data)


# ---- mermaid ------------------------------------------------------------------------------------
def test_diagram_has_every_step_and_the_graph_shape() -> None:
    text = to_mermaid(_workflow())
    assert text.startswith("flowchart TD")
    for label in ("draft: writer", "both: parallel", "pick: route", "polish: loop up to 3x", "ok: approval"):
        assert label in text
    assert '|"cats"|' in text and '|"default"|' in text and '|"again"|' in text
    assert text.count("-->") >= 10


def test_diagram_labels_cannot_carry_markup() -> None:
    wf = _workflow()
    wf.steps[2].cases[0].when = '<img src=x onerror=alert(1)>"]; click n1 href "javascript:x'
    text = to_mermaid(wf)
    assert "<img" not in text and "javascript:x\"" not in text and '"]; click' not in text


def test_diagram_placeholder_without_a_workflow() -> None:
    assert "valid" in mermaid_markdown(None)
    assert mermaid_markdown(_workflow()).startswith("```mermaid\nflowchart TD")


# ---- forms --------------------------------------------------------------------------------------
def test_form_layout_follows_the_inputs() -> None:
    slots, overflow = layout(_workflow())
    assert [s.name for s in slots] == ["topic", "words", "strict", "sources"]
    assert slots[0].label == "topic * (string)" and slots[0].info == "What to write about"
    assert slots[1].value == "200" and slots[2].kind == "bool" and slots[3].value == "a\nb"
    assert overflow == []


def test_form_values_are_typed_and_defaults_fill_gaps() -> None:
    values = collect(_workflow(), ["cats", "", "", "x\n\ny\n"], [False, False, True, False])
    assert values == {"topic": "cats", "words": 200, "strict": True, "sources": ["x", "y"]}


def test_form_lists_every_problem_at_once() -> None:
    with pytest.raises(FormError) as err:
        collect(_workflow(), ["", "many"], [False] * 4, '{"nope": 1}')
    text = str(err.value)
    assert "'topic' is required" in text and "'words' must be a whole number" in text and "nope" in text


def test_json_box_sets_inputs_beyond_the_slots() -> None:
    inputs = {f"i{n}": {"type": "string", "default": "d"} for n in range(SLOTS + 2)}
    wf = _workflow(inputs=inputs)
    slots, overflow = layout(wf)
    assert len(slots) == SLOTS and overflow == [f"i{SLOTS}", f"i{SLOTS + 1}"]
    values = collect(wf, [""] * SLOTS, [False] * SLOTS, f'{{"i{SLOTS + 1}": "late"}}')
    assert values[f"i{SLOTS + 1}"] == "late" and values["i0"] == "d"


def test_an_oversized_input_is_refused_by_name() -> None:
    # One 5 MB input once added 30-43 MB to the data directory (issue 14, item 13).
    with pytest.raises(FormError, match=f"input 'topic' has 5,000,000 characters; the limit is {MAX_INPUT_CHARS:,}"):
        collect(_workflow(), ["x" * 5_000_000], [False] * 4)
    with pytest.raises(FormError, match="input 'sources' has"):
        collect(_workflow(), ["cats", "", "", "y\n" * MAX_INPUT_CHARS], [False] * 4)


def test_inputs_together_are_capped_and_the_json_box_before_it_is_parsed() -> None:
    inputs = {f"i{n}": {"type": "string"} for n in range(SLOTS + 2)}
    each = MAX_INPUT_CHARS - 1
    with pytest.raises(FormError, match=f"the inputs together have [0-9,]+ characters; the limit is {MAX_INPUTS_CHARS:,}"):
        collect(_workflow(inputs=inputs), ["x" * each] * SLOTS, [False] * SLOTS,
                json.dumps({f"i{SLOTS}": "x" * each, f"i{SLOTS + 1}": "x"}))
    with pytest.raises(FormError, match="the inputs JSON has 5,000,002 characters"):
        collect(_workflow(), ["cats"], [False] * 4, json.dumps("x" * 5_000_000))


# ---- trace view ---------------------------------------------------------------------------------
def _run_events(run_id: str = "r1") -> list[object]:
    return [
        ev.RunStarted(run_id=run_id, workflow="brief"),
        ev.StepStarted(run_id=run_id, step_id="draft", step_type="agent", agent="writer"),
        *[ev.Token(run_id=run_id, step_id="draft", text=t) for t in ("Hello", " <b>world", "</b>")],
        ev.ToolCall(run_id=run_id, step_id="draft", tool="fetch", call_id="c1", arguments={"url": "<x>"}),
        ev.ToolResult(run_id=run_id, step_id="draft", tool="fetch", call_id="c1", result="<script>1</script>"),
        ev.LLMCall(run_id=run_id, step_id="draft", model="openai/test", tokens_in=10, tokens_out=3,
                   cost_usd=0.002),
        ev.StepFinished(run_id=run_id, step_id="draft", step_type="agent", duration_s=1.25, tokens_in=10,
                        tokens_out=3, cost_usd=0.002, model="openai/test"),
        ev.RunFinished(run_id=run_id, output={"text": "done"}, tokens_in=10, tokens_out=3, cost_usd=0.002),
    ]


def test_trace_folds_a_run_into_timeline_totals_and_output() -> None:
    view = TraceView(budget_usd=1.0)
    view.apply_all(_run_events())
    assert view.status == "finished" and view.current_text == "Hello <b>world</b>"
    html = view.timeline_html()
    assert "<b>draft</b>" in html and "1.25s" in html and "10→3" in html and "$0.0020" in html
    assert "&lt;b&gt;" not in html  # token text is shown in a text box, not in the timeline
    assert '"text": "done"' in view.output
    status = view.status_markdown()
    assert "cost $0.0020 of $1.00 budget" in status and "run `r1`" in status


def test_trace_escapes_tool_and_model_text() -> None:
    view = TraceView()
    view.apply_all(_run_events())
    tools = view.tools_html()
    assert "&lt;script&gt;" in tools and "<script>" not in tools and "&lt;x&gt;" in tools


def test_trace_shows_approval_failure_and_interruption() -> None:
    view = TraceView()
    view.apply(ev.RunStarted(run_id="r", workflow="w"))
    view.apply(ev.StepStarted(run_id="r", step_id="ok", step_type="approval"))
    view.apply(ev.ApprovalRequested(run_id="r", step_id="ok", message="Ship <it>?"))
    view.apply(ev.RunInterrupted(run_id="r", reason="approval"))
    assert view.status == "waiting" and view.approval_step == "ok" and "‖" in view.timeline_html()
    view.apply(ev.ApprovalResolved(run_id="r", step_id="ok", approved=False, feedback="no"))
    view.apply(ev.RunFailed(run_id="r", reason="provider_error", message="Key rejected: set it in Settings",
                            step_id="ok"))
    assert view.approval_step is None
    assert "Failed in step 'ok': Key rejected: set it in Settings" in view.status_markdown()
    assert "provider_error" not in view.status_markdown()  # the reason code is for machines


def test_trace_is_copyable_for_gradio_state() -> None:
    view = TraceView()
    view.apply_all(_run_events())
    assert copy.deepcopy(view).timeline_html() == view.timeline_html()


# ---- batching -----------------------------------------------------------------------------------
async def _ticks(n: int, every: float) -> object:
    for i in range(n):
        await asyncio.sleep(every)
        yield i


def test_batching_keeps_every_item_and_bounds_updates() -> None:
    async def main() -> list[list[int]]:
        return [batch async for batch in batched(_ticks(60, 0.003), interval=0.05)]

    batches = asyncio.run(main())
    assert [i for b in batches for i in b] == list(range(60))
    assert len(batches) < 20


def test_batching_forwards_source_errors_after_the_items() -> None:
    async def broken() -> object:
        yield 1
        raise RuntimeError("boom")

    async def main() -> list[list[int]]:
        got = []
        with pytest.raises(RuntimeError, match="boom"):
            async for batch in batched(broken(), interval=0.01):
                got.append(batch)
        return got

    assert asyncio.run(main()) == [[1]]


def test_cancelling_the_consumer_cancels_the_source() -> None:
    seen: list[str] = []

    async def endless() -> object:
        try:
            while True:
                await asyncio.sleep(0.01)
                yield "t"
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def consume() -> None:
        async for _ in batched(endless(), interval=0.01):
            pass

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled"]


# ---- escaping and sessions -----------------------------------------------------------------------
def test_model_text_cannot_run_script_or_load_images() -> None:
    text = safe_markdown('Hi <img src="http://x/t.png" onerror=alert(1)> ![pixel](http://x/p.png) **ok**')
    assert "<img" not in text and "![" not in text and "**ok**" in text
    assert esc('"><script>') == "&quot;&gt;&lt;script&gt;"
    assert esc("${x} {{y}} @children `z`") == "&#36;&#123;x&#125; &#123;&#123;y&#125;&#125; &#64;children &#96;z&#96;"


def test_sessions_are_independent_and_never_show_keys() -> None:
    a, b = Session(), Session()
    assert a.owner != b.owner and a.owner.startswith("anon-")
    a.settings.keys["openai"] = "sk-secret-1234567890WXYZ"
    assert b.settings.keys == {}
    assert "sk-secret" not in repr(a) and "sk-…WXYZ" in repr(a.settings)
    assert mask("short") == "•••••"
    a.user = "alice"
    assert a.owner_id == "user:alice" and repr(SessionSettings()).startswith("SessionSettings(")


def test_signed_in_users_own_their_runs_across_sessions() -> None:
    from types import SimpleNamespace

    from ui.session import adopt_user, signed_in_user

    assert signed_in_user(None) is None
    assert signed_in_user(SimpleNamespace(username="alice")) == "alice"
    oauth = SimpleNamespace(username=None, session={"oauth_info": {"userinfo": {"preferred_username": "bob"}}})
    assert adopt_user(Session(), oauth).owner_id == "hf:bob"
    anonymous = adopt_user(Session(), SimpleNamespace(username=None, session={}))
    assert anonymous.owner_id.startswith("anon-")


def test_a_run_with_a_failed_tool_call_is_a_warning_with_the_call_open() -> None:
    view = TraceView()
    view.apply_all([
        ev.RunStarted(run_id="r", workflow="w"),
        ev.StepStarted(run_id="r", step_id="answer", step_type="agent"),
        ev.ToolCall(run_id="r", step_id="answer", tool="calc", call_id="c1", arguments={"code": "1/0"}),
        ev.ToolResult(run_id="r", step_id="answer", tool="calc", call_id="c1", ok=False, result="ZeroDivisionError"),
        ev.StepFinished(run_id="r", step_id="answer", step_type="agent"),
        ev.RunFinished(run_id="r", output="done"),
    ])
    assert view.status_markdown().startswith("**⚠ finished with 1 tool error**")
    assert "<details open data-failed='1'>" in view.tools_html() and "1 tool error" in view.timeline_html()


def test_a_resumed_segment_does_not_repeat_the_runs_warnings() -> None:
    offline = "`offline/synthetic` is the offline model"
    view = TraceView()
    for resumed in (False, True):
        view.apply(ev.RunStarted(run_id="r", workflow="w", resumed=resumed))
        view.apply(ev.Warning(run_id="r", message=offline))
    assert view.status_markdown().count(offline) == 1


def test_long_errors_are_cut_between_words() -> None:
    from orchestrator.text import shorten

    text = "The provider could not be reached because the connection was refused by the remote host"
    cut = shorten(text, 40)
    assert len(cut) <= 40 and cut.endswith("…") and text.startswith(cut[:-1])
    assert text[len(cut) - 1] == " ", cut  # the word before the ellipsis is whole
    assert shorten("x" * 50, 10) == "x" * 9 + "…" and shorten("short", 10) == "short"
    view = TraceView()
    view.apply(ev.StepStarted(run_id="r", step_id="s", step_type="agent"))
    view.apply(ev.StepFinished(run_id="r", step_id="s", step_type="agent", status="failed", error="word " * 300))
    assert "word…" in view.timeline_html() and "wor…" not in view.timeline_html()


def test_a_refused_run_says_why_and_nothing_else() -> None:
    from ui.forms import FormError
    from ui.funnel import friendly_message

    view = TraceView(status="refused", message=friendly_message(FormError(["input 'topic' is required: fill it in"],
                                                                          {"topic": "required: fill it in"})))
    assert view.status_markdown() == ("**Not started.** The inputs need attention:\n"
                                      "- input 'topic' is required: fill it in")


def test_the_run_form_warns_before_a_run_when_a_python_tools_image_is_missing(tmp_path) -> None:
    from orchestrator.sandbox import docker_available
    from schemas import load_workflow
    from ui.run_tab import preflight_markdown
    from ui.services import AppServices

    if not docker_available(timeout=3.0):
        pytest.skip("no Docker daemon reachable")
    text = """
version: 1
name: code
tools: {calc: {type: python, description: Run code, image: 'graphwright-not-here:0'}}
agents: {a: {role: Analyst, tools: [calc]}}
steps:
  - {id: answer, type: agent, agent: a, prompt: 'two plus two'}
"""
    note = preflight_markdown(load_workflow(text), AppServices(data_dir=tmp_path), text, Session())
    assert "⚠ The sandbox image 'graphwright-not-here:0' is not on this machine" in note
    assert "steps that run code will fail" in note


def test_a_pending_question_says_how_to_answer_it() -> None:
    from ui.run_views import views
    from ui.session import new_session

    session = new_session()
    session.trace.apply_all([
        ev.RunStarted(run_id="r", workflow="ask-question"),
        ev.StepStarted(run_id="r", step_id="tone", step_type="ask"),
        ev.ApprovalRequested(run_id="r", step_id="tone", message="Which tone?", kind="input",
                             choices=["formal", "friendly"]),
        ev.RunInterrupted(run_id="r"),
    ])
    shown = views(session)[6]
    assert shown.startswith("**Question** from step `tone`:\n\nWhich tone?")
    assert "Type one of `formal`, `friendly` in the box below and press **Approve**" in shown
    session.trace.apply(ev.ApprovalResolved(run_id="r", step_id="tone", approved=True, feedback="formal"))
    assert views(session)[6] == ""


def test_diagram_draws_each_team_under_its_supervisor() -> None:
    from pathlib import Path

    from schemas import load_workflow_file

    wf = load_workflow_file(Path(__file__).resolve().parents[2] / "examples" / "team_of_teams.yaml")
    text = to_mermaid(wf)
    assert "report: editor supervises (shared) research_team" in text
    assert '|"delegates to research_team"|' in text and '|"delegates to writing_team"|' in text
    for label in ("search: searcher", "check: fact_checker", "outline: outliner", "write: writing_lead supervises"):
        assert label in text
    report = next(line.split("(")[0].strip() for line in text.splitlines() if "report: editor" in line)
    check = next(line.split("[")[0].strip() for line in text.splitlines() if "check: fact_checker" in line)
    assert f"{check} --> {report}" in text  # the team's last step answers back to the supervisor



def test_the_timeline_shows_a_teams_steps_between_its_supervisors_start_and_end(tmp_path) -> None:
    import asyncio

    from orchestrator.credentials import Credentials
    from orchestrator.policy import Policy
    from orchestrator.runner import Engine
    from schemas import load_workflow
    from tests.orchestrator.scripted import Say, ScriptedClient

    wf = load_workflow("""
version: 2
name: t
default_model: openai/gpt-4o-mini
agents: {lead: {role: Lead, max_tool_calls: 0}, a: {role: A}}
steps:
  - id: top
    type: supervisor
    manager: lead
    task: go
    teams: [{name: crew, steps: [{id: inner, type: agent, agent: a, prompt: '{{ task }}'}]}]
""")
    client = ScriptedClient(by_step={"top": [Say(tool_calls=[("crew", {"task": "x"})]), Say("done")],
                                     "inner": [Say("inner answer")]})
    engine = Engine(data_dir=tmp_path, client=client, credentials=Credentials(keys={"openai": "sk-test"}),
                    policy=Policy(), sinks=[])

    async def run() -> list:
        return [e async for e in engine.run(wf, {})]

    view = TraceView()
    view.apply_all(asyncio.run(run()))
    assert [(r.step_id, r.status) for r in view.steps] == [("top", "ok"), ("inner", "ok")]
    assert [(t.tool, t.result) for t in view.tools] == [("crew", "inner answer")]
    assert "inner" in view.timeline_html()
