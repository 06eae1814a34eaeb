"""The Temporal workflow of one run: drive segments on workers, wait for people without a worker.

A run is one workflow (its id is the run id) on the task queue. Each segment — from the start or a
checkpoint until the run finishes, fails, is stopped or pauses — is one heartbeating activity
(`cluster.activity.drive_segment`) that a `graphwright worker` executes. A worker that dies stops
heartbeating, so Temporal retries the activity on another worker after its heartbeat timeout
(`GRAPHWRIGHT_HEARTBEAT_TIMEOUT_S`, default 10, read by the app when it starts the run), and
the retry resumes from the run's checkpoint. A pause for an approval or an `ask` answer ends the
activity and the workflow waits for the `decide` update, holding no worker; the Stop button
cancels the workflow, which cancels the activity on its worker (within one heartbeat).

It imports nothing but temporalio and the standard library (the activity is named, not imported),
keeps no module state, and reads no clock or randomness: deterministic by construction, so it runs
outside Temporal's workflow sandbox (`sandboxed=False`). The sandbox re-imported this module into
fresh globals for every run and wrapped every workflow task: 15% of a worker's CPU for a one-step
run, measured with py-spy. `tests/cluster/test_run_costs.py` keeps the imports to that list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

WORKFLOW_NAME = "graphwright-run"
ACTIVITY_NAME = "drive_segment"
APPROVAL_WAIT = timedelta(days=7)  # then the workflow ends; the run stays resumable from its checkpoint
SEGMENT_SLACK_S = 120.0  # on top of the run's own wall-clock limit (the engine enforces that one)


@dataclass
class Decision:
    approved: bool
    feedback: str = ""
    sealed: str | None = None  # the deciding visitor's keys for the next segment (`cluster.sealed`)
    record_history: bool = True  # False: the next segment's rows stay out of the history (`--no-history`)


@dataclass
class RunRequest:
    """What a workflow needs: the run's record (in the shared store) holds the rest."""

    run_id: str
    resume: bool = False
    decision: Decision | None = None
    default_model: str = ""  # the visitor's chosen model (not a secret)
    timeout_s: float = 3600.0  # the run's `limits.timeout_seconds`
    heartbeat_timeout_s: float = 10.0  # a dead worker's segment moves to another worker after this
    origin_json: str | None = None  # `orchestrator.events.RunOrigin` of a new run (config text, chat turn, estimate)
    sealed: str | None = None  # the visitor's own keys, AES-GCM-sealed for this run (`cluster.sealed`)
    record_history: bool = True  # False: the worker records none of the segment in the history (`--no-history`)


@dataclass
class SegmentRequest:
    run_id: str
    resume: bool
    decision: Decision | None
    default_model: str
    origin_json: str | None = None
    sealed: str | None = None  # as `RunRequest.sealed`: opened by the worker, for this segment only
    record_history: bool = True


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class RunWorkflow:
    def __init__(self) -> None:
        self._decision: Decision | None = None
        self._waiting = False

    @workflow.run
    async def run(self, request: RunRequest) -> str:
        segment = SegmentRequest(request.run_id, request.resume, request.decision, request.default_model,
                                 request.origin_json, request.sealed, request.record_history)
        while True:
            status: str = await workflow.execute_activity(
                ACTIVITY_NAME, segment, result_type=str,
                start_to_close_timeout=timedelta(seconds=request.timeout_s + SEGMENT_SLACK_S),
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_s),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=1.5,
                                         maximum_interval=timedelta(seconds=3), maximum_attempts=100),
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            if status != "interrupted":
                return status
            self._waiting = True
            try:
                await workflow.wait_condition(lambda: self._decision is not None, timeout=APPROVAL_WAIT)
            except TimeoutError:
                return "interrupted"
            finally:
                self._waiting = False
            decision, self._decision = self._decision, None
            segment = SegmentRequest(request.run_id, True, Decision(decision.approved, decision.feedback),
                                     request.default_model, sealed=decision.sealed,
                                     record_history=decision.record_history)

    @workflow.update
    async def decide(self, decision: Decision) -> None:
        """A person's approval, rejection or answer; the next segment starts with it."""
        self._decision = decision

    @decide.validator
    def _one_decision_at_a_time(self, decision: Decision) -> None:
        if self._decision is not None:
            raise ValueError("a decision for this run is already on its way")

    @workflow.query
    def waiting(self) -> bool:
        return self._waiting
