"""`graphwright test FILE`: the table, JUnit XML, the exit status, `--model`, and rows in history."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from checks_testing import config, verdict
from engine_testing import TEST_API_KEY_ENV

ROOT = Path(__file__).resolve().parents[2]
CHECKS = """
    - name: names the topic
      inputs: {topic: tide pools}
      expect:
        - {step: draft, contains: tide pools}
        - {field: score, min: 1, max: 5}
    - name: judged kindly
      inputs: {topic: crabs}
      expect: [{step: draft, judge: It is about crabs, model: openai/gpt-4o}]
    """


def _test(server, tmp_path: Path, *args: str, user: str = "alice", text: str | None = None):
    path = tmp_path / "checked.yaml"
    path.write_text(text or config(CHECKS))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"OPENAI_API_KEY": TEST_API_KEY_ENV, "GRAPHWRIGHT_OPENAI_API_BASE": server.base_url, "USER": user,
                "GRAPHWRIGHT_OLLAMA_API_BASE": "http://127.0.0.1:9", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return subprocess.run([sys.executable, "-m", "graphwright", "test", str(path), "--data-dir",
                           str(tmp_path / "d"), *args], env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)


def test_all_passing_exits_zero_and_prints_the_table(answering, tmp_path: Path) -> None:
    answering.script(verdict(True, "It is about crabs."), model="gpt-4o")
    done = _test(answering, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["case", "result", "passes", "cost", "$", "tokens", "latency", "s", "judge", "$", "why"]
    assert lines[1].startswith("names the topic") and " PASS " in lines[1]
    assert lines[2].startswith("judged kindly") and " PASS " in lines[2]
    assert "2 passed, 0 failed — checked on openai/gpt-4o-mini" in done.stdout


def test_a_failure_exits_one_and_the_junit_xml_names_it(answering, tmp_path: Path) -> None:
    answering.script(verdict(False, "It is about the sea, not crabs."), model="gpt-4o")
    done = _test(answering, tmp_path, "--junit", str(tmp_path / "out" / "checks.xml"))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "FAIL" in done.stdout and "1 passed, 1 failed" in done.stdout
    suite = ET.parse(tmp_path / "out" / "checks.xml").getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["names the topic"].find("failure") is None
    failure = cases["judged kindly"].find("failure")
    assert failure is not None and "It is about the sea, not crabs." in failure.get("message")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["model"] == "openai/gpt-4o-mini" and len(props["config_hash"]) == 64


def test_model_runs_the_same_cases_on_another_model(answering, tmp_path: Path) -> None:
    answering.script(verdict(True, "ok"), model="gpt-4o")
    done = _test(answering, tmp_path, "--model", "openai/gpt-4.1-mini")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "on openai/gpt-4.1-mini" in done.stdout
    assert sorted({r.model for r in answering.requests}) == ["gpt-4.1-mini", "gpt-4o"]


def test_bad_configs_and_arguments_exit_two(answering, tmp_path: Path) -> None:
    bad = _test(answering, tmp_path, text=config("- {name: x, inputs: {topik: y}, expect: [{contains: y}]}\n"))
    assert bad.returncode == 2 and "checked.yaml:" in bad.stderr and "did you mean `topic`?" in bad.stderr
    none = _test(answering, tmp_path, text=config("[]\n"))
    assert none.returncode == 2 and "no `checks:` to run" in none.stderr
    unknown = _test(answering, tmp_path, "--case", "nope")
    assert unknown.returncode == 2 and "no check named 'nope'" in unknown.stderr
    assert answering.requests == []


def test_results_are_rows_in_history_per_owner_and_version(answering, tmp_path: Path) -> None:
    answering.script(verdict(True, "ok"), verdict(False, "no"), model="gpt-4o")
    assert _test(answering, tmp_path, "--concurrency", "1", user="alice").returncode == 0
    assert _test(answering, tmp_path, "--concurrency", "1", user="bob").returncode == 1

    from history.checks import check_results, pass_rate_by_version
    from history.queries import Filters
    from history.store import HistoryStore
    from schemas import load_workflow
    from schemas.versions import config_hash

    version = config_hash(load_workflow(config(CHECKS)))
    with HistoryStore.open(tmp_path / "d", mlflow=False) as store:
        cur = store.read_cursor()
        alice = check_results(cur, Filters(owner="alice"))
        bob = check_results(cur, Filters(owner="bob"))
        rates = pass_rate_by_version(cur, Filters(owner="bob"))
        runs = cur.execute("SELECT owner, status, config_hash FROM runs WHERE run_id = ?",
                           [bob.run_id[0]]).fetchone()
    assert sorted(alice.case_name) == ["judged kindly", "names the topic"] and alice.case_passed.all()
    assert set(bob.owner) == {"bob"} and not bob.set_index("case_name").case_passed["judged kindly"]
    judged = bob.set_index("case_name").loc["judged kindly"]
    assert (judged.judge_verdict, judged.judge_reason, judged.model) == (False, "no", "openai/gpt-4o-mini")
    assert judged.judge_cost_usd > 0 and judged.cost_usd > 0 and judged.latency_s > 0 and judged.tokens > 0
    assert set(alice.config_hash) == {version}
    assert rates[["config_hash", "cases", "passed", "pass_rate"]].values.tolist() == [[version, 2, 1, 0.5]]
    assert runs == ("bob", "finished", version)  # each attempt is an ordinary run of that version
