"""A public Dify workflow translated: route of transforms, one persona for three checks, end with an object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_testing import collect, of_type
from scripted import Say, ScriptedClient

from schemas import load_workflow_file, validate_text

CONFIG = Path(__file__).with_name("language_consistency.yaml")


def _reviewer(request: Any) -> Say:
    language = request.messages[-1]["content"].split(".", 1)[0].removeprefix("Language: ")
    return Say(f"checked {language}")


def test_it_validates_cleanly() -> None:
    report = validate_text(CONFIG.read_text(), str(CONFIG))
    assert report.errors == [] and report.warnings == []


def test_each_step_produces_what_the_dify_workflow_does(make_engine) -> None:
    client = ScriptedClient(responder=_reviewer)
    events = collect(make_engine(client).run(load_workflow_file(CONFIG), {"lang": "ja-JP"}))

    finished = events[-1]
    assert finished.type == "run_finished"
    assert finished.outputs["base_jp"] == finished.outputs["base"] == "graphwright をインストールします。"
    assert finished.output == {"cn": "checked Chinese", "en": "checked English", "jp": "checked Japanese"}
    assert len(client.requests) == 3 and {r.params.temperature for r in client.requests} == {0.7}
    assert all("Base version: graphwright をインストールします。" in r.messages[-1]["content"] for r in client.requests)
    kinds = {e.step_id: e.step_type for e in of_type(events, "step_finished")}
    assert kinds["base_jp"] == "transform" and kinds["result"] == "end"


def test_an_unknown_base_language_ends_early_without_a_model_call(make_engine) -> None:
    client = ScriptedClient(responder=_reviewer)
    events = collect(make_engine(client).run(load_workflow_file(CONFIG), {"lang": "fr-FR"}))

    assert events[-1].type == "run_finished" and client.requests == []
    assert events[-1].output == {"error": "unknown base language fr-FR: use zh-Hans, en-US or ja-JP"}
