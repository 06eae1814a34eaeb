"""Per-visitor download folders: private to the app's user, named by a hash, expired.

A visitor's exports and YAML downloads are written here before Gradio copies them into its own
(expiring) cache. The folder name is a hash of the owner id, never the id itself (an anonymous
owner id works like a session cookie: it must not appear in a path anyone can list), the folders
are 0700, and folders untouched for `TTL_S` are removed whenever another one is handed out.

A run's artifacts are copied into the run's subfolder of the same private folder, from where
Gradio serves them; the data dir itself is never served.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

TTL_S = 3600.0


def root() -> Path:
    """`<tmp>/graphwright-downloads-<uid>`: one per app user, created 0700 (and made so if it exists)."""
    path = Path(tempfile.gettempdir()) / f"graphwright-downloads-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.is_symlink() or path.stat().st_uid != os.getuid():
        raise PermissionError(f"'{path}' is not owned by this user: refusing to write downloads there")
    path.chmod(0o700)
    return path


def owner_folder(owner: str, *, now: float | None = None) -> Path:
    """This owner's private folder (emptied of nothing; expired folders of anyone are swept first)."""
    base = root()
    expire(base, now=now)
    digest = hashlib.sha256(owner.encode()).hexdigest()[:32]
    folder = base / digest
    folder.mkdir(mode=0o700, exist_ok=True)
    os.utime(folder)  # touched: in use
    return folder


def expire(base: Path, *, now: float | None = None, ttl_s: float = TTL_S) -> int:
    """Remove folders under `base` not touched for `ttl_s`; returns how many."""
    cutoff = (time.time() if now is None else now) - ttl_s
    removed = 0
    for child in base.iterdir():
        try:
            if child.is_dir() and not child.is_symlink() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
                removed += 1
        except FileNotFoundError:  # another thread swept it first
            continue
    return removed


def artifact_downloads(data_dir: Path, run_id: str, owner: str) -> list[str]:
    """Paths of copies of the run's artifacts, ready for a `gr.File`; [] when it wrote none.

    Only the session's own run is ever looked up (its id comes from the session's trace, which holds
    runs this visitor started or resumed after an ownership check).
    """
    from orchestrator.artifacts import list_artifacts

    if not run_id:
        return []
    try:
        files = list_artifacts(data_dir, run_id)
    except ValueError:  # not a run id
        return []
    if not files:
        return []
    folder = owner_folder(owner) / run_id
    folder.mkdir(mode=0o700, exist_ok=True)
    return [str(shutil.copy2(file, folder / file.name)) for file in files]
