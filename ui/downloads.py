"""A run's artifacts offered for download: copied into the visitor's own temp folder.

Only the session's own run is ever looked up (its id comes from the session's trace, which holds
runs this visitor started or resumed after an ownership check), and the files are copied to a
folder named after the visitor, from where Gradio serves them; the data dir is never served.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def artifact_downloads(data_dir: Path, run_id: str, owner: str) -> list[str]:
    """Paths of copies of the run's artifacts, ready for a `gr.File`; [] when it wrote none."""
    from orchestrator.artifacts import list_artifacts

    if not run_id:
        return []
    try:
        files = list_artifacts(data_dir, run_id)
    except ValueError:  # not a run id
        return []
    if not files:
        return []
    folder = Path(tempfile.gettempdir()) / "graphwright-downloads" / owner / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return [str(shutil.copy2(file, folder / file.name)) for file in files]
