"""Workflow → Mermaid flowchart text, for the Design tab's diagram.

Pure: takes the pydantic `Workflow` and returns the text of a ```mermaid block. Labels are built
only from identifiers and step kinds and are still escaped, so a config cannot inject markup into
the diagram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.models import Step, Workflow
from schemas.steps.base import Tails

_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:/()=<>!-]")


def _label(text: str, limit: int = 60) -> str:
    text = _UNSAFE.sub(" ", text)[:limit].strip()
    return text.replace("<", "&lt;").replace(">", "&gt;") or " "


@dataclass
class _Builder:
    lines: list[str] = field(default_factory=list)
    counter: int = 0

    def node(self, label: str, shape: str = "rect") -> str:
        self.counter += 1
        nid = f"n{self.counter}"
        text = _label(label)
        opening, closing = {
            "rect": ("[\"", "\"]"),
            "round": ("(\"", "\")"),
            "diamond": ("{\"", "\"}"),
            "hex": ("{{\"", "\"}}"),
            "stadium": ("([\"", "\"])"),
            "circle": ("((\"", "\"))"),
            "subroutine": ("[[\"", "\"]]"),
        }[shape]
        self.lines.append(f"  {nid}{opening}{text}{closing}")
        return nid

    def edge(self, src: str, dst: str, label: str | None = None) -> None:
        if label:
            self.lines.append(f"  {src} -->|\"{_label(label, 30)}\"| {dst}")
        else:
            self.lines.append(f"  {src} --> {dst}")

    def steps(self, steps: Sequence[Step], entry: Tails) -> Tails:
        """Chain `steps` after the `entry` tails; return the new tails (node id, edge label)."""
        tails = entry
        for step in steps:
            tails = self.step(step, tails)
        return tails

    def connect(self, tails: Tails, dst: str) -> None:
        for src, label in tails:
            self.edge(src, dst, label)

    def step(self, step: Step, tails: Tails) -> Tails:
        """Each kind draws itself (`schemas/steps/<kind>.py`); a step that writes an artifact gets a
        dotted edge to a file node."""
        head = f"n{self.counter + 1}"  # the first node the step draws
        out = step.diagram(self, tails)
        if step.artifact is not None:
            self.counter += 1
            self.lines.append(f"  n{self.counter}[/\"file {_label(step.artifact.name)}\"/]")
            self.lines.append(f"  {head} -.-> n{self.counter}")
        return out


def to_mermaid(workflow: Workflow) -> str:
    """The workflow's step graph as Mermaid `flowchart TD` text."""
    builder = _Builder(lines=["flowchart TD"])
    start = builder.node("start", "circle")
    tails = builder.steps(list(workflow.steps), [(start, None)])
    end = builder.node("end", "circle")
    builder.connect(tails, end)
    return "\n".join(builder.lines)


def mermaid_markdown(workflow: Workflow | None) -> str:
    """The diagram as a markdown block, or a hint when there is no valid workflow yet."""
    if workflow is None:
        return "_The diagram appears when the YAML is valid._"
    return f"```mermaid\n{to_mermaid(workflow)}\n```"
