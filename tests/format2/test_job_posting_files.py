"""CrewAI's job-posting crew, translated: a file input, prompts from files, named artifacts.

Source: github.com/crewAIInc/crewAI-examples, crews/job-posting (tasks.yaml, crew.py); the
config and its files are in `job_posting/`. Runs offline (the synthetic model) and checks what
each step produces and which files the run keeps.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from orchestrator.credentials import Credentials
from orchestrator.llm import LiteLLMClient
from orchestrator.runner import Engine
from orchestrator.state import file_upload
from schemas import load_workflow_file, validate_text

HERE = Path(__file__).parent / "job_posting"


@pytest.fixture(autouse=True)
def _fast_offline_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0")


def _run(tmp_path: Path) -> tuple[Engine, list]:
    none = Credentials()
    engine = Engine(data_dir=tmp_path / "data", client=LiteLLMClient(none), credentials=none)
    example = (HERE / "job_description_example.md").read_text()

    async def drain() -> list:
        wf = load_workflow_file(HERE / "workflow.yaml")
        return [e async for e in engine.run(wf, {"example_posting": file_upload("example.md", example)})]

    return engine, asyncio.run(drain())


def test_the_job_posting_crew_runs_offline_and_keeps_its_files(tmp_path: Path) -> None:
    engine, events = _run(tmp_path)
    assert events[-1].type == "run_finished", events[-1]
    outputs = events[-1].outputs
    assert list(outputs) == ["culture", "requirements", "draft", "review"]
    assert all(isinstance(outputs[s], str) and outputs[s] for s in ("culture", "draft", "review"))
    assert set(outputs["requirements"]) == {"skills", "experience", "qualities"}
    assert all(isinstance(v, list) for v in outputs["requirements"].values())

    folder = engine.data_dir / "runs" / events[-1].run_id / "artifacts"
    assert json.loads((folder / "requirements.json").read_text()) == outputs["requirements"]
    assert (folder / "job_posting.md").read_text() == outputs["review"]
    written = [e.name for e in events if e.type == "artifact_written"]
    assert written == ["requirements.json", "job_posting.md"]


def test_the_prompt_files_and_the_example_file_reach_the_model(tmp_path: Path) -> None:
    wf = load_workflow_file(HERE / "workflow.yaml")
    draft = next(s for s in wf.steps if s.id == "draft")
    assert draft.prompt == (HERE / "prompts" / "draft.md").read_text()
    assert wf.agents["researcher"].instructions.startswith("You are an expert in company research")
    _, events = _run(tmp_path)
    started = next(e for e in events if e.type == "run_started")
    assert started.inputs["example_posting"].startswith("[file, ")  # a preview, not the whole file


def test_in_the_app_the_config_alone_is_refused_with_how_to_inline() -> None:
    report = validate_text((HERE / "workflow.yaml").read_text(), "workflow.yaml")
    assert [i.path[-1] for i in report.errors] == ["instructions_file", "instructions_file", "prompt_file"]
    assert all("came without its folder" in i.message for i in report.errors)
