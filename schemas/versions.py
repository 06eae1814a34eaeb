"""Which version of a workflow ran: a content hash of the validated config, and its canonical text.

Canonical means "what the config says", not how it was typed. The hash is the SHA-256 of the
validated model as JSON with sorted keys and defaults left out, so none of these change it:
comments, blank lines, indentation, quoting, the order of keys in a mapping (agents, tools,
models, fields of a step), writing a default value out explicitly, or a version-1 file that
migrates to the same model. Everything the engine would run differently changes it, including the
order of steps and of list items. The `checks:` cases are left out: they test the workflow, they
do not change what it runs, so editing a case keeps the version its results are grouped by. The canonical *text* is the readable YAML `to_yaml` writes for
the model (no comments); history keeps it beside the text the person actually wrote.

Whoever records runs or results per version calls `config_hash(workflow)` (see VERSIONS-API.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from schemas.models import Workflow

SHORT = 8  # characters of the hash shown to people (git-style)


def _canonical_json(workflow: Workflow) -> str:
    sparse = workflow.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"checks"})
    return json.dumps(sparse, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(workflow: Workflow) -> str:
    """The content hash (64 hex digits) that names this version of the workflow."""
    return hashlib.sha256(_canonical_json(workflow).encode()).hexdigest()


def short_hash(full: str) -> str:
    return full[:SHORT]


def canonical_text(workflow: Workflow) -> str:
    """The config as graphwright writes it: readable YAML of the validated model, no comments.

    Every run records it, and writing YAML costs ~0.3 ms per step (11 ms for a 32-branch parallel
    step): the text of the last few distinct configs is kept, keyed by the model's full JSON."""
    return _yaml_of(workflow.model_dump_json())


@functools.lru_cache(maxsize=32)
def _yaml_of(workflow_json: str) -> str:
    from schemas.dump import to_yaml

    return to_yaml(Workflow.model_validate_json(workflow_json))


@dataclass(frozen=True)
class ConfigVersion:
    """One version of one workflow: its hash, canonical text, and the text the person wrote."""

    hash: str
    workflow: str
    canonical: str
    original: str

    @property
    def short(self) -> str:
        return short_hash(self.hash)

    @classmethod
    def of(cls, workflow: Workflow, original: str | None = None) -> ConfigVersion:
        """The version of `workflow`; `original` is the text it was loaded from (canonical if unknown)."""
        canonical = canonical_text(workflow)
        return cls(config_hash(workflow), workflow.name, canonical, original if original is not None else canonical)


def workflow_of(canonical: str) -> Workflow:
    """The workflow a stored canonical text describes (it was valid when stored: no file reads,
    no semantic checks, so a `prompt_file` already inlined into `prompt` needs no file now)."""
    from schemas.errors import ConfigError
    from schemas.issues import Issue
    from schemas.safe_yaml import read_untrusted

    doc = read_untrusted(canonical)
    if doc.problems:
        raise ConfigError([Issue("<version>", p.line, p.column, (), p.message) for p in doc.problems])
    return Workflow.model_validate(doc.data)
