"""Assemble a ready-to-push Hugging Face Space folder from this project.

Usage: python spaces/build_space.py OUT_DIR

The Space gets the app, the runtime packages, the examples and the pinned runtime requirements; it
gets no tests, benchmarks or test servers. `spaces/README.md` becomes the Space's README (its front
matter tells the Hub which SDK, Gradio version, Python version and entry file to use, and turns on
"Sign in with Hugging Face" with the scope that lets a visitor's token call Inference Providers).

OUT_DIR may be new, empty, a fresh clone of a Space's repository (only `.git`, `.gitattributes` and
`README.md`: those are kept, the README replaced), or an earlier build: the marker file lists what
that build wrote, and exactly that is replaced (a `.git` and anything else you added stay).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "orchestrator", "history", "chatbot", "ui")
FILES = ("app.py", "requirements.txt")
DIRS = ("examples",)
MARKER = ".graphwright-space"
SPACE_REPO_FILES = frozenset({".git", ".gitattributes", "README.md"})  # what the Hub puts in a new Space
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def _written() -> tuple[str, ...]:
    return (*PACKAGES, *DIRS, *FILES, "README.md", MARKER)


def _make_room(out_dir: Path) -> None:
    """Remove this script's earlier output from `out_dir`; refuse a folder holding anything else of
    unknown origin, saying what to do."""
    marker = out_dir / MARKER
    if marker.is_file():
        for name in marker.read_text().split():
            path = out_dir / name
            if "/" in name or name in ("", ".", "..") or not path.exists():
                continue
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        return
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in SPACE_REPO_FILES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise SystemExit(
            f"{out_dir} is not empty ({shown}) and holds no earlier build of this script ({MARKER}): "
            "choose a new or empty folder, or a fresh clone of your Space's repository, then copy "
            "anything of yours into the built folder")


def build(out_dir: Path) -> Path:
    """Write the Space into `out_dir` (see the module doc for which folders qualify) and return it."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        _make_room(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*PACKAGES, *DIRS):
        shutil.copytree(ROOT / name, out_dir / name, ignore=_IGNORE)
    for name in FILES:
        shutil.copy2(ROOT / name, out_dir / name)
    shutil.copy2(ROOT / "spaces" / "README.md", out_dir / "README.md")
    (out_dir / MARKER).write_text("\n".join(_written()) + "\n")
    return out_dir


def front_matter(readme: Path) -> dict[str, str]:
    """The `key: value` lines between the first two `---` lines, quotes stripped (list items skipped)."""
    lines = readme.read_text().splitlines()
    end = lines.index("---", 1)
    pairs = (line.split(":", 1) for line in lines[1:end] if ":" in line and not line.startswith(" "))
    return {key.strip(): value.strip().strip('"') for key, value in pairs}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1])))
