"""The step kinds: one module each; registering a kind is one line in the `Step` union below.

A kind's module holds its pydantic model (the source of truth for the format) and the hooks the
generic code dispatches through (see `schemas.steps.base`); its engine side lives in
`orchestrator/nodes/<kind>.py` and is registered in `orchestrator.compiler`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from schemas.steps.agent import AgentStep
from schemas.steps.approval import ApprovalStep
from schemas.steps.ask import AskStep
from schemas.steps.base import Artifact, Children, Read, _StepBase, max_executions, min_executions
from schemas.steps.end import EndStep
from schemas.steps.loop import LoopStep
from schemas.steps.map import MapStep
from schemas.steps.parallel import ParallelStep
from schemas.steps.route import Classifier, RouteCase, RouteStep
from schemas.steps.supervisor import SupervisorStep, Team
from schemas.steps.transform import TransformStep

Step = Annotated[
    AgentStep | ParallelStep | MapStep | RouteStep | LoopStep | ApprovalStep | AskStep | SupervisorStep
    | TransformStep | EndStep,
    Field(discriminator="type"),
]



def rebuild(**names: object) -> None:
    """Resolve the kinds' forward references: `Step` itself, and the models they share with the
    rest of the config (`OutputField`), which `schemas.models` passes in once it defines them."""
    for model in (*_StepBase.__subclasses__(), RouteCase, Team):
        model.model_rebuild(force=True, _types_namespace={"Step": Step, **names})

__all__ = [
    "AgentStep", "ApprovalStep", "Artifact", "AskStep", "Children", "Classifier", "EndStep", "LoopStep", "MapStep",
    "ParallelStep", "Read", "RouteCase", "RouteStep", "Step", "SupervisorStep", "Team", "TransformStep", "_StepBase",
    "max_executions", "min_executions", "rebuild",
]
