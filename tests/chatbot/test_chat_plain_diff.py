"""After every change to the draft the chat says what changed in plain words, with the cost change,
and remembers which turn produced the draft (a run records it with its config version)."""

from __future__ import annotations

from chatbot import user_edited_yaml
from schemas import load_workflow
from tests.chatbot.conftest import brief_config, call, tool_reply


def test_a_chat_change_is_described_in_words_and_its_turn_remembered(chat, llm_server, state) -> None:
    llm_server.script(
        tool_reply(call("set_config", config=brief_config()), text="Drafted."),
        tool_reply(call("apply_edits", edits=[{"op": "set", "path": "agents.writer.model",
                                               "value": "openai/gpt-4o-mini"}])),
    )
    first = chat(state, "Write research briefs.")
    assert first.plain_diff == ""  # nothing before it to compare with
    assert (state.draft_turn, state.draft_request) == (1, "Write research briefs.")

    second = chat(state, "use a cheaper model for the writer")
    assert load_workflow(second.yaml).agents["writer"].model == "openai/gpt-4o-mini"
    lines = second.plain_diff.splitlines()
    assert lines[0].startswith("- agent `writer` now uses `openai/gpt-4o-mini` instead of")
    assert lines[-1].startswith("Estimated cost per run: expected $")
    assert second.diff  # the unified diff is still there, beside the words
    assert (state.draft_turn, state.draft_request) == (2, "use a cheaper model for the writer")
    llm_server.assert_all_used()


def test_a_hand_edit_is_described_but_is_no_chat_turn(chat, llm_server, state) -> None:
    llm_server.script(tool_reply(call("set_config", config=brief_config()), text="Drafted."))
    chat(state, "Write research briefs.")
    edited = state.draft_yaml.replace("name: research-brief", "name: research-brief\nlimits:\n  max_steps: 9")
    result = user_edited_yaml(state, edited)
    assert result.plain_diff.startswith("- a run may take 9 steps instead of 50")
    assert (state.draft_turn, state.draft_request) == (None, "")
