"""Assemble a ready-to-push Hugging Face Space folder from this project.

Usage: python spaces/build_space.py OUT_DIR

The Space gets the app, the runtime packages, the examples and the pinned runtime requirements; it
gets no tests, benchmarks or test servers. `spaces/README.md` becomes the Space's README (its front
matter tells the Hub which SDK, Gradio version, Python version and entry file to use).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "orchestrator", "history", "chatbot", "ui")
FILES = ("app.py", "requirements.txt")
DIRS = ("examples",)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def build(out_dir: Path) -> Path:
    """Write the Space into `out_dir` (created, must be empty or absent) and return it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SystemExit(f"{out_dir} is not empty: choose a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (*PACKAGES, *DIRS):
        shutil.copytree(ROOT / name, out_dir / name, ignore=_IGNORE)
    for name in FILES:
        shutil.copy2(ROOT / name, out_dir / name)
    shutil.copy2(ROOT / "spaces" / "README.md", out_dir / "README.md")
    return out_dir


def front_matter(readme: Path) -> dict[str, str]:
    """The `key: value` lines between the first two `---` lines, quotes stripped."""
    lines = readme.read_text().splitlines()
    end = lines.index("---", 1)
    pairs = (line.split(":", 1) for line in lines[1:end] if ":" in line)
    return {key.strip(): value.strip().strip('"') for key, value in pairs}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1])))
