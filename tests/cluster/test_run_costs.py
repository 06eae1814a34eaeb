"""What one cluster run asks of PostgreSQL and Temporal, counted (not timed), so waste cannot creep back.

Counts from PostgreSQL's own log (statements of the test's database, connections made to it), from
the RPCs the Temporal server reports having served (its metrics) and from the run's Temporal history. Before these guards a one-step run cost 131 statements (59 of them
a pool's empty "is it alive?" query before each checkout), two new connections (a LISTEN per run,
a checkpointer pool per segment) and a re-import of the workflow module in Temporal's sandbox.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import time
from pathlib import Path

import pytest
from runs_testing import TEST_KEY

from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster

ONE_STEP = """
version: 1
name: one-call
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps: [{id: s, type: agent, agent: w, prompt: 'hello {{ inputs.n }}'}]
inputs: {n: {default: '0'}}
"""
# A run of one segment: one workflow task to schedule its activity, one to complete; nothing else.
ONE_SEGMENT = [
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED",
    "ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED",
    "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_EXECUTION_COMPLETED",
]
# Per run, what Temporal serves beyond its workers' polls: no heartbeat for a segment shorter than a quarter of
# its heartbeat timeout (they went every 0.1 s, so that Stop arrived with one: 12 in a 2-second run, each a write
# of the workflow's state; Stop now comes through PostgreSQL), and the activity handed to the worker in the
# answer to its workflow task (eager), never through the task queue.
RPCS_PER_RUN = {("frontend", "StartWorkflowExecution"): 1, ("frontend", "RespondWorkflowTaskCompleted"): 2,
                ("frontend", "RespondActivityTaskCompleted"): 1, ("frontend", "RecordActivityTaskHeartbeat"): 0,
                ("frontend", "PollWorkflowExecutionHistory"): 1, ("matching", "AddActivityTask"): 0}
STATEMENTS_PER_RUN = 120  # measured 107-114 (main: 106-115): 33 of them LangGraph's checkpoint rows, ~20 the history's, ~28 fencing (its
# token; a check in each event and history batch's transaction, and one in the pipeline of each write of a checkpoint,
# run record or journal entry, which commits with it: a stale attempt writes nothing)
_STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): ?(.*)$")


class PgLog:
    """The statements and connections PostgreSQL logs for one database from a point on."""

    def __init__(self, server, database: str) -> None:
        self.path, self.database = server.root / "server.log", database
        self.start = self.path.stat().st_size

    def mark(self) -> None:
        time.sleep(0.5)  # what the server still logs of the previous work
        self.start = self.path.stat().st_size

    def read(self) -> tuple[list[str], int]:
        """(statements, connections) since the mark; a statement spanning lines is its first line."""
        time.sleep(0.5)
        lines = self.path.read_text(errors="replace")[self.start:].splitlines()
        statements, connections = [], 0
        for i, line in enumerate(lines):
            if f"connection authorized: user=postgres database={self.database}" in line:
                connections += 1
            found = _STATEMENT.search(line)
            if found:
                text = found.group(1).strip()
                if not text and i + 1 < len(lines) and lines[i + 1].startswith("\t"):
                    text = lines[i + 1].strip()
                statements.append(text)
        return statements, connections


def _set(dsn: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        for statement in statements:
            con.execute(statement)


def test_a_one_step_cluster_run_costs_few_postgres_statements_no_new_connection_and_one_activity(
        cluster, llm_server, postgres_server, postgres_dsn, temporal_server) -> None:
    database = cluster.dsn.rsplit("/", 1)[1]
    _set(postgres_dsn, f'ALTER DATABASE "{database}" SET log_statement = \'all\'',
         "ALTER SYSTEM SET log_connections = on", "SELECT pg_reload_conf()")
    try:
        log = PgLog(postgres_server, database)
        llm_server.set_default(lambda req: Reply(text="ok"))
        cluster.start_worker()
        credentials = Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": cluster.llm_base_url})
        executor = cluster.executor(cluster.app_engine(credentials, Policy()))
        wf, runs = load_workflow(ONE_STEP, "one.yaml"), 4

        async def measured() -> list[str]:
            async def one(n: int) -> str:
                events = [e async for e in executor.run(wf, {"n": str(n)})]
                assert events[-1].type == "run_finished"
                return events[-1].run_id

            await one(-1)  # the app's Temporal client, event feed and pools, the worker's first engine use
            await asyncio.to_thread(log.mark)
            await asyncio.sleep(1.5)  # the warm-up's activity reports after its last event; metrics come ~1/s
            served = temporal_server.requests()
            ids = [await one(n) for n in range(runs)]
            await asyncio.sleep(1.5)
            rpcs.update({op: (temporal_server.requests()[service, op] - served[service, op]) / runs
                         for service, op in RPCS_PER_RUN})
            return ids

        rpcs: dict[str, float] = {}
        run_ids = asyncio.run(measured())
        statements, connections = log.read()
    finally:
        _set(postgres_dsn, "ALTER SYSTEM RESET log_connections", "SELECT pg_reload_conf()")

    print(f"\n[cluster] one-step run: {len(statements) / runs:.1f} statements, {connections / runs:.2f} "
          "new connections per run")
    assert connections == 0  # pools and the event feed's listening connection are reused
    assert not [s for s in statements if not s]  # no empty "is it alive?" query before a checkout
    assert not [s for s in statements if s.startswith("LISTEN")]  # the app listens once, not per run
    assert len(statements) <= STATEMENTS_PER_RUN * runs, sorted(statements)
    print(f"[cluster] one-step run's Temporal RPCs: {rpcs}")
    assert rpcs == {op: count for (_, op), count in RPCS_PER_RUN.items()}
    for run_id in run_ids:
        assert _history(cluster, run_id) == ONE_SEGMENT


def _history(cluster, run_id: str) -> list[str]:
    async def events() -> list[str]:
        from temporalio.api.enums.v1 import EventType

        from cluster.temporal_client import connect

        client = await connect(cluster.settings(), attempts=1)
        return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
                async for e in client.get_workflow_handle(run_id).fetch_history_events()]

    return asyncio.run(events())


def test_the_workflow_module_imports_only_what_is_deterministic() -> None:
    """It runs outside Temporal's sandbox (`sandboxed=False`): only the standard library and temporalio."""
    source = Path(__file__).resolve().parents[2] / "cluster" / "workflow.py"
    modules = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    outside = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names | {"__future__", "temporalio"}}
    assert modules and not outside
