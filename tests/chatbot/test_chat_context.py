"""Long conversations stay within the context budget; the draft is always sent in full."""

from __future__ import annotations

from chatbot import ChatState, system_prompt
from chatbot.context import build_messages, count_tokens
from testkit.replies import Reply
from tests.chatbot.conftest import brief_config, call, tool_reply


def test_thirty_turns_fit_the_budget_with_older_turns_summarised(chat, llm_server) -> None:
    budget = count_tokens([{"content": system_prompt()}]) + 1_500  # room for the draft and ~6 turns
    state = ChatState()
    llm_server.script(tool_reply(call("set_config", config=brief_config())))
    chat(state, "Start with a research brief workflow.", context_tokens=budget)
    draft = state.draft_yaml
    llm_server.set_default(lambda request: Reply(text="Noted. " + "Here is my detailed thinking. " * 12))

    for turn in range(1, 30):
        result = chat(state, f"Turn {turn}: " + "please consider this extra requirement carefully. " * 8,
                      context_tokens=budget)
        assert result.errors == []

    assert len(llm_server.requests) == 30
    for request in llm_server.requests:
        assert count_tokens(request.messages) <= budget
    last = llm_server.requests[-1].messages
    assert any(draft.strip() in str(m["content"]) for m in last)  # the whole draft, every time
    assert last[1]["content"].startswith("Summary of the earlier conversation:")
    assert "Turn 29:" in last[-1]["content"]
    assert state.summarized_upto > 40 and len(state.messages) == 60
    assert llm_server.requests[0].messages[1]["role"] != "system" or "Summary" not in llm_server.requests[0].messages[1]["content"]


def test_folding_is_deterministic_and_keeps_the_newest_turns() -> None:
    def fresh() -> ChatState:
        state = ChatState()
        for i in range(20):
            state.add("user", f"question {i} " + "word " * 60)
            state.add("assistant", f"answer {i} " + "word " * 60)
        state.add("user", "the newest question")
        return state

    one, two = fresh(), fresh()
    first = build_messages(one, system="sys", draft="DRAFT", budget=600)
    second = build_messages(two, system="sys", draft="DRAFT", budget=600)
    assert first == second and count_tokens(first) <= 600
    assert first[-1] == {"role": "user", "content": "the newest question"}
    assert first[-2] == {"role": "system", "content": "DRAFT"}
    assert "- user: question 0" in one.summary or "(earlier turns omitted)" in one.summary


def test_the_draft_is_never_cut_even_when_it_alone_exceeds_the_budget() -> None:
    state = ChatState()
    state.add("user", "hi")
    big = "x" * 10_000
    messages = build_messages(state, system="sys", draft=big, budget=100)
    assert big in [m["content"] for m in messages]
