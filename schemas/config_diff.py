"""What changed between two versions of a workflow, in plain words.

    diff = diff_workflows(before, after)
    diff.lines()  # ["agent `reviewer` now uses `gpt-4o-mini` instead of `gpt-4o`",
                  #  "loop `polish` may run 5 times instead of 3", "a new HTTP host api.example.com (tool `fetch`)"]

The walk is generic over the pydantic models, so every field of the format is compared; the
fields people ask about most (models, loop and map bounds, hosts, secrets, tools, budgets) get
sentences of their own, the rest read "step `x`: the time limit per attempt (s) is now 30 (was not
set)" with each field's name from `schemas.diff_words`. Steps are matched by id across the whole
tree, so a moved step reads as moved and a step whose only change is its id as renamed.
No gradio, pandas or LiteLLM here: the CLI's `graphwright diff` imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from schemas.diff_words import is_long, kind_name, noun, show
from schemas.models import Step, Workflow
from schemas.powers import raised_powers

_MODEL_FIELDS = frozenset({"Workflow.default_model", "ModelSpec.model", "Agent.model", "AgentStep.model",
                           "Classifier.model", "Agent.summary_model"})
_UNSET_MODEL = MappingProxyType({
    "Workflow.default_model": "the model chosen in Settings", "Agent.model": "the workflow's default model",
    "AgentStep.model": "its agent's model", "Classifier.model": "the workflow's default model",
})
_NAMED_KINDS = frozenset({"loop", "map", "parallel", "route", "supervisor"})  # "loop `x`" reads better than "step `x`"
_BOUNDS = MappingProxyType({
    "LoopStep.max_iterations": "may run {b} times instead of {a}",
    "MapStep.max_items": "handles up to {b} items instead of {a}",
    "SupervisorStep.max_delegations": "may delegate {b} times instead of {a}",
    "Agent.max_tool_calls": "may make {b} tool calls per step instead of {a}",
    "Limits.max_cost_usd": "the budget per run is now ${b} instead of ${a}",
    "Limits.max_steps": "a run may take {b} steps instead of {a}",
    "Limits.max_tokens": "a run may use {b} tokens instead of {a}",
    "Limits.timeout_seconds": "a run may take {b} s instead of {a} s",
})


@dataclass(frozen=True)
class Change:
    """One difference: `area` (workflow, input, model, agent, tool, step, limits), `subject` (a
    name or step id), `what` (added, removed, renamed, moved, changed) and the sentence."""

    area: str
    subject: str
    what: str
    text: str


@dataclass
class ConfigDiff:
    changes: list[Change] = field(default_factory=list)
    powers: list[str] = field(default_factory=list)  # what the change lets the workflow do beyond before

    def lines(self) -> list[str]:
        return [c.text for c in self.changes]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_text(self) -> str:
        if not self.changes:
            return "No change: both configs run the same workflow."
        out = [f"- {line}" for line in self.lines()]
        if self.powers:
            out.append("Powers raised (the app asks before applying these): " + "; ".join(self.powers) + ".")
        return "\n".join(out)


def diff_workflows(before: Workflow, after: Workflow) -> ConfigDiff:
    """Every difference between `before` and `after`, in the order of the config's sections."""
    d = _Differ()
    d.fields("workflow", "the workflow", before, after, skip={"inputs", "models", "agents", "tools", "steps", "limits"})
    d.named("input", before.inputs, after.inputs)
    d.named("model", before.models, after.models, label="model alias")
    d.named("agent", before.agents, after.agents)
    d.named("tool", before.tools, after.tools)
    _StepDiff(d).run(before.steps, after.steps)
    d.fields("limits", "the run limits", before.limits, after.limits)
    return ConfigDiff(d.out, raised_powers(before, after))


class _Differ:
    def __init__(self) -> None:
        self.out: list[Change] = []
        self.step_renames: dict[str, str] = {}
        self.name_renames: dict[str, str] = {}  # agents, tools, model aliases: old -> new

    def add(self, area: str, subject: str, what: str, text: str) -> None:
        self.out.append(Change(area, subject, what, text))

    def same(self, old: Any, new: Any) -> bool:
        """Equal once renames are applied (a renamed step's readers and a renamed agent's users)."""
        if old == new:
            return True
        if isinstance(old, str) and isinstance(new, str):
            if self.name_renames.get(old) == new:
                return True
            moved = old
            for was, now in self.step_renames.items():
                moved = re.sub(rf"\bsteps\.{re.escape(was)}\b", f"steps.{now}", moved)
            return moved == new
        if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            return all(self.same(a, b) for a, b in zip(old, new, strict=True))
        return False

    # ---- named sections (inputs, model aliases, agents, tools) ------------------------------------

    def named(self, area: str, old: dict[str, Any], new: dict[str, Any], *, label: str | None = None) -> None:
        label = label or area
        gone, added = [k for k in old if k not in new], [k for k in new if k not in old]
        for name in list(gone):
            twin = next((a for a in added if _dump(old[name]) == _dump(new[a])), None)
            if twin is not None:
                gone.remove(name)
                added.remove(twin)
                self.name_renames[name] = twin
                self.add(area, twin, "renamed", f"{label} `{name}` is renamed `{twin}`")
        for name in added:
            self.add(area, name, "added", f"a new {label} `{name}`{_about(new[name])}")
        for name in gone:
            self.add(area, name, "removed", f"{label} `{name}` is removed")
        for name in [k for k in new if k in old]:
            self.fields(area, f"{label} `{name}`", old[name], new[name])

    # ---- one model against another, field by field ------------------------------------------------

    def fields(self, area: str, subject: str, old: BaseModel, new: BaseModel, *, skip: set[str] | frozenset[str] = frozenset()) -> None:
        if type(old) is not type(new):
            self.add(area, subject, "changed", f"{subject} is now {_kind_of(new)} instead of {_kind_of(old)}")
            return
        owner = type(new).__name__
        for name in type(new).model_fields:
            if name in skip:
                continue
            a, b = getattr(old, name), getattr(new, name)
            if not self.same(a, b):
                self.value(area, subject, owner, name, a, b)

    def value(self, area: str, subject: str, owner: str, name: str, a: Any, b: Any) -> None:
        key, label = f"{owner}.{name}", noun(owner, name)
        if key in _MODEL_FIELDS:
            unset = _UNSET_MODEL.get(key, "no model")
            self.add(area, subject, "changed", f"{subject} now uses {show(b) if b else unset} instead of "
                     f"{show(a) if a else unset}" + (" for summaries" if name == "summary_model" else ""))
        elif key in _BOUNDS and a is not None and b is not None:
            text = _BOUNDS[key].format(a=show(a).strip("`"), b=show(b).strip("`"))
            self.add(area, subject, "changed", text if key.startswith("Limits.") else f"{subject} {text}")
        elif key == "HttpTool.allow":
            self.hosts(subject, a, b)
        elif key == "HttpTool.secrets":
            self.secrets(subject, a, b)
        elif isinstance(a, BaseModel) and isinstance(b, BaseModel):
            self.fields(area, f"{subject}'s {label.removeprefix('the ')}", a, b)
        elif any(v is None or v in ("", [], {}) for v in (a, b)):
            said = f"now has {label} {show(b)}" if not a else f"no longer has {label} (was {show(a)})"
            self.add(area, subject, "changed", f"{subject} {said}")
        elif isinstance(a, list) and isinstance(b, list) and all(isinstance(v, str) for v in a + b):
            self.members(area, subject, label, a, b)
        elif isinstance(a, dict) and isinstance(b, dict):
            self.entries(area, subject, label, a, b)
        elif is_long(a, b):
            self.add(area, subject, "changed", f"{subject}: {label} changed")
        else:
            self.add(area, subject, "changed", f"{subject}: {label} is now {show(b)} (was {show(a)})")

    def members(self, area: str, subject: str, label: str, a: list[str], b: list[str]) -> None:
        gained, lost = [v for v in b if v not in a], [v for v in a if v not in b]
        single = label.removeprefix("the ").rstrip("s")
        for v in gained:
            self.add(area, subject, "changed", f"{subject} gains {single} `{v}`")
        for v in lost:
            self.add(area, subject, "changed", f"{subject} loses {single} `{v}`")
        if not gained and not lost:
            self.add(area, subject, "changed", f"{subject}: {label} are now in the order {show(b)}")

    def entries(self, area: str, subject: str, label: str, a: dict[str, Any], b: dict[str, Any]) -> None:
        where = f"{subject}'s {label.removeprefix('the ')}"
        for k in [k for k in b if k not in a]:
            self.add(area, subject, "changed", f"{where} gain `{k}`")
        for k in [k for k in a if k not in b]:
            self.add(area, subject, "changed", f"{where} lose `{k}`")
        for k in [k for k in b if k in a and not self.same(a[k], b[k])]:
            if isinstance(a[k], BaseModel) and isinstance(b[k], BaseModel):
                self.fields(area, f"{where}: `{k}`", a[k], b[k])
            else:
                self.add(area, subject, "changed", f"{where}: `{k}` is now {show(b[k])} (was {show(a[k])})")

    def hosts(self, subject: str, a: list[str], b: list[str]) -> None:
        old_hosts, new_hosts = {_host(u) for u in a}, {_host(u) for u in b}
        for host in sorted(new_hosts - old_hosts):
            self.add("tool", subject, "changed", f"a new HTTP host {host} ({subject})")
        for host in sorted(old_hosts - new_hosts):
            self.add("tool", subject, "changed", f"HTTP host {host} is no longer allowed ({subject})")
        for url in [u for u in b if u not in a and _host(u) in old_hosts]:
            self.add("tool", subject, "changed", f"{subject} may also fetch `{url}`")
        for url in [u for u in a if u not in b and _host(u) in new_hosts]:
            self.add("tool", subject, "changed", f"{subject} may no longer fetch `{url}`")

    def secrets(self, subject: str, a: dict[str, list[str]], b: dict[str, list[str]]) -> None:
        for name in [k for k in b if k not in a]:
            self.add("tool", subject, "changed", f"{subject} now sends the secret `{name}` (to {', '.join(b[name])})")
        for name in [k for k in a if k not in b]:
            self.add("tool", subject, "changed", f"{subject} no longer uses the secret `{name}`")
        for name in [k for k in b if k in a]:
            for host in [h for h in b[name] if h not in a[name]]:
                self.add("tool", subject, "changed", f"{subject} may now send the secret `{name}` to {host}")
            for host in [h for h in a[name] if h not in b[name]]:
                self.add("tool", subject, "changed", f"{subject} no longer sends the secret `{name}` to {host}")


class _StepDiff:
    """Steps matched by id across the tree: added, removed, renamed, moved, reordered, changed."""

    def __init__(self, d: _Differ) -> None:
        self.d = d

    def run(self, before: list[Step], after: list[Step]) -> None:
        old, new = _index(before), _index(after)
        gone, added = [i for i in old if i not in new], [i for i in new if i not in old]
        for sid in list(gone):
            twin = next((a for a in added if _body(old[sid][0]) == _body(new[a][0])), None)
            if twin is not None:
                gone.remove(sid)
                added.remove(twin)
                self.d.step_renames[sid] = twin
                self.d.add("step", twin, "renamed", f"step `{sid}` is renamed `{twin}`")
        for sid in added:
            step, where = new[sid]
            self.d.add("step", sid, "added", f"a new step `{sid}`: {kind_name(step.type)}{_agent_of(step)} in {where}")
        for sid in gone:
            self.d.add("step", sid, "removed", f"step `{sid}` ({kind_name(old[sid][0].type)}) is removed")
        pairs = {**{s: s for s in new if s in old}, **self.d.step_renames}
        for was, now in pairs.items():
            self.step(old[was], new[now], now)
        self.order(before, after, "the top level")

    def step(self, old: tuple[Step, str], new: tuple[Step, str], sid: str) -> None:
        (a, a_where), (b, b_where) = old, new
        subject = f"step `{sid}`"
        if a_where != b_where:
            self.d.add("step", sid, "moved", f"{subject} moved from {a_where} to {b_where}")
        if a.type != b.type:
            self.d.add("step", sid, "changed", f"{subject} is now {kind_name(b.type)} instead of {kind_name(a.type)}")
            return
        containers = {c.path[0] for c in b.children()} | {"id"}
        self.d.fields("step", f"{b.type} `{sid}`" if b.type in _NAMED_KINDS else subject, a, b,
                      skip={*containers, "cases", "teams"})
        if b.type == "route":
            self.keyed(sid, "case", [(c.when, c) for c in a.cases], [(c.when, c) for c in b.cases])
        if b.type == "supervisor":
            self.keyed(sid, "team", [(t.name, t) for t in a.teams], [(t.name, t) for t in b.teams])
        for child_a, child_b in zip(a.children(), b.children(), strict=False):
            self.order(child_a.steps, child_b.steps, _container(b, child_b.path))

    def keyed(self, sid: str, what: str, old: list[tuple[str, Any]], new: list[tuple[str, Any]]) -> None:
        """Route cases by their `when`, supervisor teams by name."""
        olds, news = dict(old), dict(new)
        owner = f"{'route' if what == 'case' else 'supervisor'} `{sid}`"
        for key in [k for k in news if k not in olds]:
            self.d.add("step", sid, "changed", f"{owner} has a new {what} {show(key)}")
        for key in [k for k in olds if k not in news]:
            self.d.add("step", sid, "changed", f"{owner} no longer has the {what} {show(key)}")
        both = [k for k in news if k in olds]
        if both != [k for k in olds if k in news]:
            self.d.add("step", sid, "changed", f"{owner} now checks its {what}s in the order {show(both)}")
        for key in both:
            self.d.fields("step", f"{owner}, {what} {show(key)}", olds[key], news[key], skip={"steps", "when", "name"})

    def order(self, before: list[Step], after: list[Step], where: str) -> None:
        renamed = [self.d.step_renames.get(s.id, s.id) for s in before]
        kept_old = [s for s in renamed if s in {x.id for x in after}]
        kept_new = [s.id for s in after if s.id in set(kept_old)]
        if kept_old != kept_new:
            self.d.add("step", where, "moved", f"in {where}, steps now run in the order "
                       f"{' → '.join(kept_new)} (was {' → '.join(kept_old)})")


def _index(steps: list[Step], where: str = "the top level") -> dict[str, tuple[Step, str]]:
    out: dict[str, tuple[Step, str]] = {}
    for step in steps:
        out[step.id] = (step, where)
        for child in step.children():
            out.update(_index(list(child.steps), _container(step, child.path)))
    return out


def _container(step: Step, path: tuple[str | int, ...]) -> str:
    match path:
        case ("cases", int(i), "steps"):
            return f"route `{step.id}`, case {show(step.cases[i].when)}"
        case ("teams", int(i), "steps"):
            return f"team `{step.teams[i].name}` of supervisor `{step.id}`"
        case ("default",):
            return f"route `{step.id}`'s default branch"
        case ("branches",):
            return f"parallel `{step.id}`"
    return f"{step.type} `{step.id}`"


def _body(step: Step) -> dict[str, Any]:
    return step.model_dump(mode="json", exclude={"id"}, exclude_defaults=True)


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_defaults=True) if isinstance(value, BaseModel) else value


def _kind_of(value: Any) -> str:
    kind = getattr(value, "type", None)
    return f"a `{kind}` one" if kind else type(value).__name__


def _about(value: Any) -> str:
    """A few words on a new item: a tool's kind, an agent's model, an alias's model."""
    if getattr(value, "type", None) in ("http", "python", "function", "agent") and hasattr(value, "description"):
        hosts = sorted({_host(u) for u in getattr(value, "allow", [])})
        return f" ({value.type}" + (f", hosts {', '.join(hosts)}" if hosts else "") + ")"
    model = getattr(value, "model", None)
    return f" (model {show(model)})" if isinstance(model, str) else ""


def _agent_of(step: Step) -> str:
    agent = getattr(step, "agent", None)
    return f" by agent `{agent}`" if isinstance(agent, str) else ""


def _host(url: str) -> str:
    return urlsplit(url.replace("*", "x")).hostname or url
