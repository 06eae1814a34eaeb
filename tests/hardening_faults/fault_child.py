"""A zygote for the kill -9 tests: imports the engine once, then forks one "app process" per command.

Forking from a warm, single-threaded parent makes each killed process cheap (no 5 s of imports per
kill) while every kill is still a real SIGKILL of a real process holding the history lock, the
DuckDB file and the checkpoint database. Protocol, one JSON object per line:

    stdin:  {"data_dir", "base_url", "workflow", "resume": [run ids], "start": [tags], "out": path}
    stdout: {"pid": N}, then {"exit": N, "status": S} when that process ends (killed or not)

The forked process appends what it saw to `out`: every event (`{"event": ..., "run_id", "seq"}`,
terminal events in full), and `{"ack": [[table, run_id, seq], ...]}` after each `flush()` that
returned True — rows the history store acknowledged as committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from history.recovery import record_unrecorded_runs  # noqa: E402
from history.store import HistoryStore  # noqa: E402
from orchestrator import events as ev  # noqa: E402
from orchestrator.credentials import Credentials  # noqa: E402
from orchestrator.llm import LiteLLMClient, load_litellm  # noqa: E402
from orchestrator.policy import Policy  # noqa: E402
from orchestrator.runner import Engine  # noqa: E402
from schemas import load_workflow  # noqa: E402

KEY = "sk-test-zygote-0123456789abcdef"
_TABLES = {"step_finished": "steps", "llm_call": "llm_calls"}


async def segment(cmd: dict[str, Any]) -> None:
    """One life of the app: open the store (marking crashed runs), resume and start runs."""
    store = HistoryStore.open(cmd["data_dir"], mlflow=False)
    record_unrecorded_runs(store, cmd["data_dir"])  # as `AppServices.create` does
    out = open(cmd["out"], "a", buffering=1)  # noqa: SIM115 - lives as long as this process
    record = store.sink
    unacked: list[list[Any]] = []

    def sink(event: ev.Event) -> None:
        record(event)
        line: dict[str, Any] = {"event": event.type, "run_id": event.run_id, "seq": event.seq}
        if event.type in ev.TERMINAL_TYPES:
            line["full"] = json.loads(event.model_dump_json())
        out.write(json.dumps(line) + "\n")
        if event.type in _TABLES:
            unacked.append([_TABLES[event.type], event.run_id, event.seq])
        if event.type == "step_finished" or event.type in ev.TERMINAL_TYPES:
            if store.flush(10):
                out.write(json.dumps({"ack": list(unacked)}) + "\n")
                unacked.clear()

    creds = Credentials(keys={"openai": KEY}, api_bases={"openai": cmd["base_url"]})
    client = LiteLLMClient(creds, backoff_base=0.01, backoff_cap=0.1)
    engine = Engine(data_dir=cmd["data_dir"], client=client, credentials=creds,
                    policy=Policy(allow_private_http=True), sinks=[sink])
    workflow = load_workflow(cmd["workflow"], "durable.yaml")
    out.write(json.dumps({"ready": os.getpid(), "interrupted_on_open": store.interrupted_on_open}) + "\n")

    async def drain(stream: Any) -> None:
        async for _ in stream:
            pass

    await asyncio.gather(*(drain(engine.resume(r)) for r in cmd["resume"]),
                         *(drain(engine.run(workflow, {"tag": t}, run_id=t)) for t in cmd["start"]))
    store.close()
    out.close()


def main() -> None:
    load_litellm()
    print(json.dumps({"zygote": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(segment(cmd))
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": pid, "status": status}), flush=True)


if __name__ == "__main__":
    main()
