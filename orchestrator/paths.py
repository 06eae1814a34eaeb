"""Where graphwright keeps its files: one data directory, chosen by the environment.

On a Hugging Face Space the disk is wiped on every restart; persistent storage, when the owner
attaches it, is mounted at `/data` (`GRAPHWRIGHT_PERSISTENT_DIR` names another place, for tests).
The history, interrupted runs and quota ledger live there when it is attached and writable;
otherwise `storage_warning` says, in the log and in Settings, that they are lost on restart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

PERSISTENT_ENV = "GRAPHWRIGHT_PERSISTENT_DIR"
SPACE_STORAGE = "/data"
NOT_PERSISTENT = ("history is lost on restart: enable persistent storage in the Space's settings "
                  "(it is mounted at /data), then restart the Space")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def persistent_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The persistent disk (`/data`, or `GRAPHWRIGHT_PERSISTENT_DIR`) when it is there and writable."""
    path = Path(_env(environ).get(PERSISTENT_ENV, "").strip() or SPACE_STORAGE)
    if not path.is_dir():
        return None
    try:  # a real write: `os.access` says yes to root even on a read-only mount
        with tempfile.NamedTemporaryFile(dir=path, prefix=".graphwright-probe-"):
            pass
    except OSError:
        return None
    return path


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`GRAPHWRIGHT_DATA_DIR`, else the persistent disk when attached, else `./data`."""
    configured = _env(environ).get("GRAPHWRIGHT_DATA_DIR")
    path = Path(configured) if configured else (persistent_dir(environ) or Path("data"))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def storage_warning(directory: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """On a Space, why `directory` will not survive a restart (None when it will, or off a Space)."""
    env = _env(environ)
    if not env.get("SPACE_ID", "").strip():
        return None
    persistent = persistent_dir(environ)
    if persistent is not None and Path(directory).resolve().is_relative_to(persistent.resolve()):
        return None
    return NOT_PERSISTENT
