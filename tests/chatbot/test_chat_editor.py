"""Hand edits in the editor: kept as typed, validated, and continued from by the assistant."""

from __future__ import annotations

from chatbot import ChatState, confirm, reject, user_edited_yaml
from schemas import load_workflow, to_yaml
from schemas.models import Workflow
from tests.chatbot.conftest import brief_config, call, tool_reply

KEY = "sk-proj-" + "Qa19Ws28Ed37Rf46Tg55" * 2


def _valid_yaml() -> str:
    return to_yaml(Workflow.model_validate(brief_config()))


def test_a_valid_hand_edit_is_kept_exactly_with_an_estimate() -> None:
    state = ChatState()
    text = "# my own header\n" + _valid_yaml()
    result = user_edited_yaml(state, text)
    assert result.errors == [] and result.yaml == text and state.last_valid_yaml == text
    assert result.estimate is not None and state.messages == []


def test_an_invalid_hand_edit_is_kept_and_its_errors_located() -> None:
    state = ChatState()
    user_edited_yaml(state, _valid_yaml())
    broken = _valid_yaml().replace("agent: writer", "agent: editor")
    result = user_edited_yaml(state, broken)
    assert state.draft_yaml == broken and state.last_valid_yaml == _valid_yaml()
    assert result.errors and "editor" in result.errors[0] and result.errors[0].startswith("<config>:")
    assert result.estimate is None


def test_a_key_typed_into_the_editor_is_refused() -> None:
    state = ChatState()
    user_edited_yaml(state, _valid_yaml())
    result = user_edited_yaml(state, _valid_yaml().replace("Find the key facts.", f"Use {KEY}"))
    assert "Settings" in result.reply and state.draft_yaml == _valid_yaml() and result.yaml == _valid_yaml()
    assert KEY not in repr(state.to_dict())


def test_confirm_and_reject_without_a_pending_change_say_so() -> None:
    state = ChatState()
    assert "no change waiting" in confirm(state).reply
    assert "no change waiting" in reject(state).reply


def test_the_assistant_repairs_a_broken_hand_edit_from_its_text(chat, llm_server) -> None:
    state = ChatState()
    user_edited_yaml(state, "# keep me\n" + _valid_yaml().replace("agent: writer", "agent: editor"))
    llm_server.script(tool_reply(call("apply_edits", edits=[{"op": "set", "path": "steps.write.agent",
                                                             "value": "writer"}])))
    result = chat(state, "fix it please")
    assert result.errors == [] and "# keep me" in result.yaml
    assert load_workflow(result.yaml).steps[1].agent == "writer"
    sent = "\n".join(str(m["content"]) for m in llm_server.requests[0].messages)
    assert "It does not validate yet" in sent and "editor" in sent
