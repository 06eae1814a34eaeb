"""Prepare the replay of a past run: its config and inputs, the chosen steps, and what is served.

    prepared = prepare_replay(cur, engine.store, "run-1", owner, [Pick("draft", "openai/gpt-4o")])
    events = engine.run(prepared.workflow, prepared.inputs, owner=owner, replay=prepared.plan)

The source run's config and inputs come from the run store (the checkpoints' SQLite: exact, not
previews); the outputs to serve come from history's `steps` rows (one per execution). Everything
that cannot be replayed faithfully is refused here, before any call, with the reason
(`ReplayRefused`): another person's run, a run not finished, a step whose result came from a
person, a step that would call a tool with side effects again (unless `allow_side_effects`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from history.errors import HistoryError
from history.queries import Cursor
from orchestrator.checkpoints import RunStore
from orchestrator.replay import ReplayPlan
from schemas.models import Workflow
from schemas.walk import all_steps

ALL = "*"
_COMPOSITE = frozenset({"loop", "map", "parallel"})
_PERSON = frozenset({"approval", "ask"})


class ReplayRefused(HistoryError):
    """This replay cannot be faithful (or is not allowed); the message says why and what to do."""


@dataclass(frozen=True)
class Pick:
    """One choice: a step (or `*`, every step that called a model), the model to run it on (None:
    its own), and optionally only one map item (0-based) or loop round (1-based)."""

    step_id: str
    model: str | None = None
    item: int | None = None
    round: int | None = None

    @classmethod
    def parse(cls, text: str) -> Pick:
        """`STEP[@item=N|@round=N][=MODEL]`, e.g. `draft=openai/gpt-4o`, `summarise@item=2=gpt-4o-mini`."""
        match = _PICK.fullmatch(text.strip())
        if match is None:
            raise ReplayRefused(f"`{text}`: write STEP, STEP=MODEL, STEP@item=N=MODEL or STEP@round=N=MODEL "
                                "(* for every step that called a model)")
        number = int(match["n"]) if match["n"] else None
        return cls(match["step"], match["model"] or None, number if match["kind"] == "item" else None,
                   number if match["kind"] == "round" else None)


_PICK = re.compile(r"(?P<step>[^@=\s]+)(?:@(?P<kind>item|round)=(?P<n>\d+))?(?:=(?P<model>\S+))?")


@dataclass(frozen=True)
class Prepared:
    workflow: Workflow
    inputs: dict[str, Any]
    plan: ReplayPlan
    chosen: tuple[str, ...]  # step ids run again


@dataclass(frozen=True)
class _Row:
    step_id: str
    step_type: str
    execution: str | None
    iteration: int | None
    item_index: int | None
    output: str | None
    branch: str | None


_ROWS_SQL = """
SELECT step_id, step_type, execution, iteration, item_index, output, branch FROM steps
WHERE run_id = ? AND NOT superseded AND status = 'ok' ORDER BY seq
"""


def prepare_replay(cur: Cursor, runs: RunStore, source_run_id: str, owner: str, picks: Sequence[Pick], *,
                   allow_side_effects: bool = False) -> Prepared:
    """Check everything and build the replay (raises `ReplayRefused` with the reason)."""
    row = cur.execute("SELECT owner, status FROM runs WHERE run_id = ?", [source_run_id]).fetchone()
    stored = runs.get(source_run_id)
    if row is None or stored is None or row[0] != owner:  # another person's run looks like no run
        raise ReplayRefused(f"no run `{source_run_id}` among your runs: check the id in Analytics")
    if row[1] != "finished":
        raise ReplayRefused(f"run `{source_run_id}` is {row[1]}, not finished: only a finished run has every "
                            "step's output to serve; finish (resume) it first")
    rows = [_Row(*r) for r in cur.execute(_ROWS_SQL, [source_run_id]).fetchall()]
    if any(r.execution is None for r in rows if r.step_type not in _COMPOSITE):
        raise ReplayRefused(f"run `{source_run_id}` was recorded before graphwright kept step outputs, so they "
                            "cannot be served; run the workflow again and replay that run")
    if not picks:
        raise ReplayRefused("choose at least one step to run again (or * for every step that called a model)")
    workflow = stored.workflow
    steps = {step.id: step for step in all_steps(workflow)}
    ran = {r.step_id for r in rows}
    picks = _expand(picks, steps, ran)
    models: dict[str, str] = {}
    rerun: set[tuple[str, str]] = set()
    for pick in picks:
        step = steps.get(pick.step_id)
        _check_step(pick, step, ran, source_run_id, workflow, allow_side_effects)
        if pick.model is not None:
            if models.setdefault(pick.step_id, pick.model) != pick.model:
                raise ReplayRefused(f"step `{pick.step_id}` is given two models; one step runs on one model")
        chosen = [r for r in rows if r.step_id == pick.step_id
                  and (pick.item is None or r.item_index == pick.item)
                  and (pick.round is None or r.iteration == pick.round)]
        if not chosen:
            where = f"item {pick.item}" if pick.item is not None else f"round {pick.round}"
            raise ReplayRefused(f"step `{pick.step_id}` has no {where} in run `{source_run_id}`")
        rerun.update((r.step_id, r.execution) for r in chosen if r.execution is not None)
    plan = ReplayPlan(
        source_run_id=source_run_id,
        outputs={(r.step_id, r.execution): _loads(r.output) for r in rows if r.execution is not None},
        branches={(r.step_id, r.execution): r.branch for r in rows
                  if r.step_type == "route" and r.execution is not None and r.branch is not None},
        rerun=frozenset(rerun),
        rerun_all=frozenset(p.step_id for p in picks if p.item is None and p.round is None),
    )
    chosen_ids = tuple(dict.fromkeys(p.step_id for p in picks))
    return Prepared(_with_models(workflow, models), dict(stored.inputs), plan, chosen_ids)


def _expand(picks: Iterable[Pick], steps: dict[str, Any], ran: set[str]) -> list[Pick]:
    """`*` stands for every step of the run that called a model: its agent steps and classifier routes."""
    out: list[Pick] = []
    for pick in picks:
        if pick.step_id != ALL:
            out.append(pick)
            continue
        out += [Pick(sid, pick.model, pick.item, pick.round) for sid, step in steps.items()
                if sid in ran and _calls_a_model(step)]
    return out


def _calls_a_model(step: Any) -> bool:
    return step.type == "agent" or (step.type == "route" and getattr(step, "classify", None) is not None)


def _check_step(pick: Pick, step: Any, ran: set[str], source: str, workflow: Workflow, allow: bool) -> None:
    sid = pick.step_id
    if step is None:
        raise ReplayRefused(f"run `{source}`'s workflow has no step `{sid}`")
    if step.type in _PERSON:
        raise ReplayRefused(f"step `{sid}` is an `{step.type}` step: its result came from a person, so it "
                            "cannot be re-run faithfully (it is served from the recorded run when you replay "
                            "other steps)")
    if step.type in _COMPOSITE:
        raise ReplayRefused(f"step `{sid}` is a `{step.type}`: choose the steps inside it (add @item=N or "
                            "@round=N to pick one item or round)")
    if step.type == "supervisor":
        raise ReplayRefused(f"step `{sid}` is a supervisor: its delegations are not recorded one by one, so it "
                            "cannot be re-run on its own yet (it is served from the recorded run); replay agent "
                            "steps and routes that classify")
    if not _calls_a_model(step):
        raise ReplayRefused(f"step `{sid}` ({step.type}) calls no model: run again on the same recorded "
                            "inputs it gives the same output. Replay agent steps and routes that classify")
    if sid not in ran:
        raise ReplayRefused(f"step `{sid}` did not run in run `{source}`, so there is nothing to compare")
    if step.type == "agent" and not allow:
        acting = _acting_tools(workflow, step.agent, set())
        if acting:
            raise ReplayRefused(
                f"step `{sid}` may call tools with side effects again ({', '.join(acting)}): confirm that "
                "they may act again (CLI: --allow-side-effects; app: the 'tools may act again' box)")


def _acting_tools(workflow: Workflow, agent_name: str, seen: set[str]) -> list[str]:
    """Tools of the agent (and of agents it calls as tools) that change something outside the run:
    HTTP tools allowed to POST and installed functions (nobody can tell what they do). Python tools
    run in a throwaway container without network, and GET requests only read."""
    if agent_name in seen or agent_name not in workflow.agents:
        return []
    seen.add(agent_name)
    acting: list[str] = []
    for name in workflow.agents[agent_name].tools:
        tool = workflow.tools.get(name)
        if tool is None:
            continue
        if tool.type == "http" and "POST" in tool.methods:
            acting.append(f"`{name}` (HTTP POST)")
        elif tool.type == "function":
            acting.append(f"`{name}` (installed function `{tool.function}`)")
        elif tool.type == "agent":
            acting += _acting_tools(workflow, tool.agent, seen)
    return acting


def _with_models(workflow: Workflow, models: dict[str, str]) -> Workflow:
    """The source config with each chosen step on its new model (validated like any config)."""
    if not models:
        return workflow
    data = workflow.model_dump(by_alias=True, exclude_none=True)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("id") in models and node.get("type") == "agent":
                node["model"] = models[node["id"]]
            elif node.get("id") in models and node.get("type") == "route" and "classify" in node:
                node["classify"]["model"] = models[node["id"]]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(data["steps"])
    try:
        return Workflow.model_validate(data)
    except ValidationError as exc:
        bad = ", ".join(f"`{m}`" for m in dict.fromkeys(models.values()))
        raise ReplayRefused(f"{bad} is not a model name graphwright accepts (an alias of the config or a "
                            f"LiteLLM string such as openai/gpt-4o-mini): {exc.errors()[0]['msg']}") from None


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
