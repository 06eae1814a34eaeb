"""Files a config reads: prompts and instructions kept next to it, and how a file's format is named.

`prompt_file` / `instructions_file` are read once, at load time, and their text replaces the key
(so the engine, history and the Design tab only ever see inline text). A file must sit inside the
config's folder: no absolute paths, no `..`, no symlink leading out, and no more than a prompt may
hold. Text that came without its folder (the app's editor, the chat) cannot name files: the error
says how to inline the text instead.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from types import MappingProxyType
from typing import Any

from schemas.issues import Issue, Path
from schemas.locate import Locator
from schemas.models import Workflow
from schemas.walk import iter_steps

MAX_FILE_CHARS = 20_000  # what `prompt` and `instructions` may hold inline
_FILE_KEYS = MappingProxyType({"prompt_file": "prompt", "instructions_file": "instructions"})
_EXTENSIONS = MappingProxyType({".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json"})


def file_format(name: str, declared: str | None = None) -> str:
    """The declared format, else the one the name's extension says (`text` for anything else)."""
    if declared:
        return declared
    return _EXTENSIONS.get(FilePath(name).suffix.lower(), "text")


def inline_files(data: dict[str, Any], base_dir: FilePath | None, locator: Locator) -> list[Issue]:
    """Replace every `prompt_file`/`instructions_file` in `data` by the file's text; the problems found."""
    issues: list[Issue] = []
    for holder, path in _holders(data):
        for file_key, text_key in _FILE_KEYS.items():
            if file_key not in holder:
                continue
            here = (*path, file_key)
            name = holder[file_key]
            if holder.get(text_key):
                issues.append(locator.issue(here, f"`{file_key}` and `{text_key}` are both given",
                                            f"keep one: the file, or the inline `{text_key}`", at="key"))
                continue
            text, problem = _read(name, base_dir, file_key, text_key)
            if problem is not None:
                issues.append(locator.issue(here, *problem))
                holder[text_key] = ""  # reported here: not also as a missing `prompt`
                continue
            del holder[file_key]
            holder[text_key] = text
    return issues


def _holders(data: dict[str, Any]) -> list[tuple[dict[str, Any], Path]]:
    """Every agent, and every mapping in the step tree, with its YAML path."""
    found: list[tuple[dict[str, Any], Path]] = []
    agents = data.get("agents")
    if isinstance(agents, dict):
        found += [(a, ("agents", n)) for n, a in agents.items() if isinstance(a, dict)]

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            found.append((node, path))
            for key, value in node.items():
                if isinstance(value, dict | list):
                    walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(data.get("steps"), ("steps",))
    return found


def _read(name: Any, base_dir: FilePath | None, file_key: str, text_key: str
          ) -> tuple[str, tuple[str, str] | None]:
    if not isinstance(name, str) or not name:
        return "", None  # the model reports the wrong type
    if base_dir is None:
        return "", (
            f"`{file_key}: {name}` reads a file next to the config, but this config came without its folder",
            f"paste the file's text under `{text_key}: |` instead, or run it from a terminal with "
            "`graphwright run CONFIG.yaml`, which reads files next to the config",
        )
    base = base_dir.resolve()
    target = (base / name).resolve()
    if FilePath(name).is_absolute() or ".." in FilePath(name).parts or not target.is_relative_to(base):
        return "", (f"`{name}` is outside the config's folder",
                    "keep prompt files in the config's folder or below it, named relative to it")
    if not target.is_file():
        return "", (f"file `{name}` not found next to the config (looked in {base})",
                    "check the name; it is relative to the config's folder")
    if target.stat().st_size > 4 * MAX_FILE_CHARS:
        return "", (f"`{name}` is larger than {MAX_FILE_CHARS:,} characters", "shorten it")
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return "", (f"cannot read `{name}`: {exc}", "save it as UTF-8 text")
    if len(text) > MAX_FILE_CHARS:
        return "", (f"`{name}` is longer than {MAX_FILE_CHARS:,} characters", "shorten it")
    return text, None


def file_issues(workflow: Workflow, locator: Locator) -> list[Issue]:
    """Artifacts two steps would both write, and file settings on inputs that are not files."""
    issues: list[Issue] = []
    writers: dict[str, str] = {}
    for step, path in iter_steps(workflow.steps):
        if step.artifact is None:
            continue
        first = writers.setdefault(step.artifact.name, step.id)
        if first != step.id:
            issues.append(locator.issue(
                (*path, "artifact", "name"),
                f"steps `{first}` and `{step.id}` both write `{step.artifact.name}`; the later write replaces it",
                "give each artifact its own name", severity="warning"))
    for name, spec in workflow.inputs.items():
        stray = [key for key in ("format", "max_bytes") if key in spec.model_fields_set]
        if spec.type != "file" and stray:
            issues.append(locator.issue(("inputs", name, stray[0]), f"`{stray[0]}` only applies to `type: file`",
                                        f"set `type: file` on input `{name}`, or remove `{stray[0]}`",
                                        severity="warning", at="key"))
    return issues
