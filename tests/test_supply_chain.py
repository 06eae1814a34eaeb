"""The installed environment is the one we pinned, and free of known-bad packages."""

import importlib.metadata as md
import site
from pathlib import Path

BAD_LITELLM = {"1.82.7", "1.82.8"}
ALLOWED_PTH = {"distutils-precedence.pth", "_virtualenv.pth"}


def test_litellm_is_not_a_compromised_release() -> None:
    assert md.version("litellm") not in BAD_LITELLM


def test_no_unexpected_pth_files_in_site_packages() -> None:
    found = {p.name for d in site.getsitepackages() for p in Path(d).glob("*.pth")}
    unexpected = {n for n in found - ALLOWED_PTH if not n.startswith("__editable__")}
    assert "litellm_init.pth" not in found
    assert not unexpected, f"unexpected .pth files: {sorted(unexpected)}"


def test_gradio_is_recent_enough() -> None:
    major, minor = (int(x) for x in md.version("gradio").split(".")[:2])
    assert (major, minor) >= (6, 20)
