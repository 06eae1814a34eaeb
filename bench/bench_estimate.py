"""How far off is the pre-run cost estimate? Every example, run against the loopback server.

    .venv/bin/python -m bench.bench_estimate                    # synthetic answers (offline model's text)
    .venv/bin/python -m bench.bench_estimate --answer-tokens 400  # answers as long as the estimate assumes

Each example runs once through the real engine (LiteLLM → the loopback OpenAI-compatible server in
`testkit`, priced as `--model`), recorded in a throwaway history with the estimate `chatbot.estimate`
made before the run (as the app and the CLI record it). Approvals are approved and questions
answered with their first choice, so paused examples finish. Printed per example: model calls,
tokens in and out, cost, each as actual ÷ expected estimate, and whether the run stayed within the
worst case. The answers are the offline model's short synthetic text unless `--answer-tokens` pads
them: so the *call count* and *prompt-token* columns measure the estimator, while the answer-length
column mostly measures the assumption (400 tokens per answer) against the test server's answers.
Tokens are counted with LiteLLM's tokenizer for `--model` on the requests the server received and
the answers it gave (the server's own usage figures count words); cost = those tokens × the price.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from chatbot.estimate import estimate_cost  # noqa: E402
from chatbot.prices import price_of  # noqa: E402
from chatbot.run_origin import run_origin  # noqa: E402
from history.store import HistoryStore  # noqa: E402
from orchestrator.credentials import Credentials  # noqa: E402
from orchestrator.offline_synth import synthesize  # noqa: E402
from orchestrator.policy import Policy  # noqa: E402
from orchestrator.runner import ApprovalDecision, Engine  # noqa: E402
from schemas import load_workflow_file  # noqa: E402
from testkit.llm_server import LLMServer  # noqa: E402
from testkit.replies import Reply  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FILLER = "The tide rises and falls twice a day as the moon pulls on the sea. "  # ≈16 tokens


def replier(answer_tokens: int | None, answers: list[str]) -> Any:
    """Answers like the offline model's (padded to `answer_tokens` when asked); keeps what it said."""
    def reply(request: Any) -> Reply:
        said = synthesize(request.messages, request.tools)
        if said.tool_name:
            answers.append(said.tool_name + said.tool_arguments)
            return Reply(tool_calls=[{"name": said.tool_name, "arguments": said.tool_arguments}])
        text = said.text
        if answer_tokens and not _is_json(text):  # structured answers stay as they are
            text = (text + " " + FILLER * (answer_tokens // 16))[: answer_tokens * 4]
        answers.append(text)
        return Reply(text=text)

    return reply


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def tokenized(requests: list[Any], answers: list[str], model: str) -> tuple[int, int, int]:
    """Calls, prompt and answer tokens as the model's tokenizer counts them (the loopback server's
    own usage counts words, which undercounts)."""
    import litellm

    name = model.split("/", 1)[-1]
    tin = sum(litellm.token_counter(model=name, messages=r.messages, tools=r.tools or None) for r in requests)
    tout = sum(litellm.token_counter(model=name, text=a) for a in answers)
    return len(requests), tin, tout


async def run_one(engine: Engine, path: Path, model: str) -> tuple[str, str]:
    workflow = load_workflow_file(path)
    origin = run_origin(workflow, path.read_text(), source="bench", default_model=model)
    stream = engine.run(workflow, {}, owner="bench", origin=origin)
    last = None
    for _ in range(10):  # approvals and questions: approve / answer, then go on
        async for event in stream:
            last = event
        if last is None or last.type != "run_interrupted":
            break
        pending = engine.pending_approval(last.run_id)
        answer = (pending.choices or ["yes"])[0] if pending is not None and pending.kind == "input" else "ok"
        stream = engine.resume(last.run_id, approval=ApprovalDecision(True, answer), owner="bench")
    return (last.run_id if last else "", last.type if last else "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="openai/gpt-4o-mini")
    parser.add_argument("--answer-tokens", type=int, default=None)
    args = parser.parse_args()
    server = LLMServer().start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore.open(tmp, mlflow=False)
        credentials = Credentials(keys={"openai": "sk-test-" + "0" * 40}, api_bases={"openai": server.base_url})
        engine = Engine(data_dir=Path(tmp), credentials=credentials, sinks=[store.sink],
                        policy=Policy(default_model=args.model))
        for path in sorted(EXAMPLES.glob("*.yaml")):
            workflow = load_workflow_file(path)
            estimate = estimate_cost(workflow, default_model=args.model)
            answers: list[str] = []
            server.reset()
            server.set_default(replier(args.answer_tokens, answers))
            try:
                _run_id, end = asyncio.run(run_one(engine, path, args.model))
            except Exception as exc:  # noqa: BLE001 - an example that cannot run here is reported, not fatal
                rows.append((path.stem, f"not run: {type(exc).__name__}", None, None))
                continue
            calls, tin, tout = tokenized(list(server.requests), answers, args.model)
            price = price_of(args.model)
            rows.append((path.stem, end, estimate, (calls, tin, tout, tin * price.input + tout * price.output)))
        store.close()
    server.stop()
    _print(rows)


def _usage(estimate: Any) -> tuple[int, int, int]:
    by_model = estimate.expected.by_model.values()
    return sum(r[0] for r in by_model), sum(r[1] for r in by_model), sum(r[2] for r in by_model)


def _print(rows: list[tuple[Any, ...]]) -> None:
    head = ("example", "end", "calls a/e", "tok in a/e", "tok out a/e", "cost a/e", "≤ worst")
    print(" | ".join(head))
    ratios: dict[str, list[float]] = {"calls": [], "in": [], "out": [], "cost": []}
    for name, end, estimate, actual in rows:
        if estimate is None or actual is None or end != "run_finished":
            print(f"{name} | {end}")
            continue
        calls, tin, tout = _usage(estimate)
        cells = []
        for key, a, e in (("calls", actual[0], calls), ("in", actual[1], tin), ("out", actual[2], tout),
                          ("cost", actual[3], estimate.cost_usd)):
            if e:
                ratios[key].append(a / e)
            cells.append(f"{a:g}/{e:.4g} = {a / e:.2f}" if e else f"{a:g}/0")
        within = actual[3] <= estimate.worst_cost_usd + 1e-12
        print(" | ".join([name, end, *cells, "yes" if within else "NO"]))
    summary = {k: {"median": round(statistics.median(v), 2), "min": round(min(v), 2), "max": round(max(v), 2)}
               for k, v in ratios.items() if v}
    print("actual ÷ expected estimate:", json.dumps(summary))


if __name__ == "__main__":
    main()
