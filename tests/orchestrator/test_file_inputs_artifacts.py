"""File inputs (contents, not paths, enter the run) and named artifacts (files a step writes)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.state import InputsError, file_upload, prepare_inputs
from testkit.replies import Reply

ROOT = Path(__file__).resolve().parents[2]
SALES = "region,amount\nnorth,3\nsouth,4\n"

REPORT = """
    version: 2
    name: report
    default_model: openai/gpt-4o-mini
    inputs:
      sales: {type: file, description: A CSV of sales, max_bytes: 2000}
      notes: {type: file, format: markdown, default: "# none"}
    agents:
      analyst:
        role: Analyst
        output:
          rows: {type: list, items: string}
      writer: {role: Writer}
    steps:
      - id: table
        type: agent
        agent: writer
        prompt: "Regions: {{ inputs.sales }} Notes: {{ inputs.notes }}"
        artifact: {name: report.md}
      - id: facts
        type: agent
        agent: analyst
        prompt: "List facts from {{ steps.table.output }}"
        artifact: {name: facts.json}
"""


def test_csv_and_json_files_become_structured_values_and_text_stays_text() -> None:
    wf = workflow("""
        version: 2
        name: f
        inputs:
          rows: {type: file}
          data: {type: file}
          doc: {type: file, format: markdown}
        agents: {a: {role: A}}
        steps: [{id: s, type: agent, agent: a, prompt: "{{ inputs.rows }}"}]
    """)
    got = prepare_inputs(wf, {"rows": file_upload("sales.csv", SALES),
                              "data": file_upload("d.json", '{"k": [1, 2]}'),
                              "doc": "# Title\nbody"})
    assert got == {"rows": [{"region": "north", "amount": "3"}, {"region": "south", "amount": "4"}],
                   "data": {"k": [1, 2]}, "doc": "# Title\nbody"}


def test_a_file_over_its_cap_or_malformed_is_refused_naming_the_input() -> None:
    wf = workflow(REPORT)
    with pytest.raises(InputsError, match=r"input `sales`: the file is 3,000 bytes, over this input's limit of 2,000"):
        prepare_inputs(wf, {"sales": file_upload("s.csv", "x" * 3000)})
    bad = workflow(REPORT.replace("{type: file, description: A CSV of sales, max_bytes: 2000}",
                                  "{type: file, format: json}"))
    with pytest.raises(InputsError, match=r"input `sales`: the file is not valid JSON"):
        prepare_inputs(bad, {"sales": file_upload("s.txt", "{nope")})


def test_a_run_reads_the_file_writes_artifacts_and_history_keeps_them(make_engine, tmp_path: Path) -> None:
    from history.queries import run_artifacts
    from history.store import HistoryStore

    store = HistoryStore.open(tmp_path / "h", mlflow=False)
    client = ScriptedClient(Say("# Sales\nnorth leads"), Say.json({"rows": ["north 3", "south 4"]}))
    engine = make_engine(client, sinks=[store.sink])
    events = collect(engine.run(workflow(REPORT), {"sales": file_upload("sales.csv", SALES)}, owner="ann"))

    assert events[-1].type == "run_finished", events[-1]
    prompt = client.requests[0].messages[-1]["content"]
    assert '"region":"north"' in prompt and "sales.csv" not in prompt and "# none" in prompt
    started = of_type(events, "run_started")[0]
    assert started.inputs["sales"].startswith("[file, ") and len(started.inputs["sales"]) < 300
    written = {e.name: e for e in of_type(events, "artifact_written")}
    folder = engine.data_dir / "runs" / events[-1].run_id / "artifacts"
    assert (folder / "report.md").read_text() == "# Sales\nnorth leads"
    assert json.loads((folder / "facts.json").read_text()) == {"rows": ["north 3", "south 4"]}
    assert written["facts.json"].sha256 == hashlib.sha256((folder / "facts.json").read_bytes()).hexdigest()

    store.flush()
    rows = run_artifacts(store.read_cursor(), events[-1].run_id, "ann")
    assert list(rows["name"]) == ["facts.json", "report.md"]
    assert list(rows["bytes"]) == [(folder / "facts.json").stat().st_size, (folder / "report.md").stat().st_size]
    assert run_artifacts(store.read_cursor(), events[-1].run_id, "bob").empty  # another visitor sees none
    store.close()


def test_a_csv_artifact_needs_rows_and_says_so(make_engine) -> None:
    wf = workflow("""
        version: 2
        name: c
        agents:
          a: {role: A, output: {people: {type: list, items: string}, count: {type: integer}}}
          b: {role: B}
        steps:
          - {id: text, type: agent, agent: b, prompt: hi, artifact: {name: out.csv}}
    """)
    events = collect(make_engine(ScriptedClient(Say("just text"))).run(wf, {}))
    assert events[-1].type == "run_failed"
    assert "artifact `out.csv` is CSV, which needs a list of objects" in events[-1].message


def test_artifact_names_cannot_name_folders() -> None:
    from schemas import validate_text

    for name in ("../x.md", "a/b.md", "/etc/passwd", ".hidden"):
        report = validate_text(f"""version: 2
name: n
agents: {{a: {{role: A}}}}
steps:
  - id: s
    type: agent
    agent: a
    prompt: p
    artifact: {{name: "{name}"}}
""")
        assert report.errors and report.errors[0].line == 9, name
        assert "plain file name such as `report.md`" in report.errors[0].message, name


def test_cli_reads_a_file_input_and_lists_the_artifacts(tmp_path: Path, llm_server) -> None:
    from engine_testing import TEST_API_KEY_ENV

    (tmp_path / "wf.yaml").write_text(__import__("textwrap").dedent(REPORT))
    (tmp_path / "sales.csv").write_text(SALES)
    llm_server.script(Reply(text="# Sales"), Reply(text=json.dumps({"rows": ["north"]})))
    env = {"OPENAI_API_KEY": TEST_API_KEY_ENV, "GRAPHWRIGHT_OPENAI_API_BASE": llm_server.base_url,
           "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PATH": "/usr/bin:/bin"}
    data = tmp_path / "d"
    done = subprocess.run([sys.executable, "-m", "graphwright", "run", str(tmp_path / "wf.yaml"),
                           "--input", f"sales=@{tmp_path / 'sales.csv'}", "--data-dir", str(data)],
                          env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "📄 report.md" in done.stdout and str(data) in done.stdout
    assert '"region":"north"' in llm_server.requests[0].messages[-1]["content"]
    run_id = done.stdout.split("(run ")[1].split(",")[0]
    listed = subprocess.run([sys.executable, "-m", "graphwright", "artifacts", run_id, "--data-dir", str(data),
                             "--to", str(tmp_path / "out")], env=env, capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert "facts.json" in listed.stdout and "report.md" in listed.stdout
    assert (tmp_path / "out" / "report.md").read_text() == "# Sales"

    (tmp_path / "big.csv").write_text("x" * 5000)
    big = subprocess.run([sys.executable, "-m", "graphwright", "run", str(tmp_path / "wf.yaml"),
                          "--input", f"sales=@{tmp_path / 'big.csv'}", "--data-dir", str(data)],
                         env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert big.returncode == 2 and "input `sales`" in big.stderr and "5,000 bytes" in big.stderr
