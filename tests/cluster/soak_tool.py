"""A function tool whose side effect a test can count: each call appends its tag to a file.

Workers load it through `GRAPHWRIGHT_TOOL_MODULES=tests.cluster.soak_tool`; the file is named by
`GRAPHWRIGHT_TEST_EFFECTS`. The pause after the effect lets a kill land between the effect and its
result, which the run must then report as "outcome unknown" instead of calling the tool again.
"""

from __future__ import annotations

import os
import time

EFFECTS_ENV = "GRAPHWRIGHT_TEST_EFFECTS"


def record(tag: str) -> str:
    """Record a tag, once per run."""
    with open(os.environ[EFFECTS_ENV], "a") as effects:
        effects.write(tag + "\n")
        effects.flush()
        os.fsync(effects.fileno())
    time.sleep(0.3)
    return f"recorded {tag}"


GRAPHWRIGHT_TOOLS = [record]
