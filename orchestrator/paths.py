"""Where graphwright keeps its files: one data directory, chosen by the environment."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`GRAPHWRIGHT_DATA_DIR`, else `/data` when it exists (a Space's persistent disk), else `./data`."""
    configured = os.environ.get("GRAPHWRIGHT_DATA_DIR")
    if configured:
        path = Path(configured)
    elif Path("/data").is_dir() and os.access("/data", os.W_OK):
        path = Path("/data")
    else:
        path = Path("data")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
