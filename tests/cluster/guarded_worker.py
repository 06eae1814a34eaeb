"""`graphwright worker` with the test suite's network guard: only loopback, as in the test process.

Tests start workers through this file so a worker can no more reach the internet than a test can
(an example's http tool fails the same way, with the same message, in both).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

if __name__ == "__main__":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # a stuck worker's stacks, for the test's log
    from tests.conftest import guard_network

    guard_network(setattr)
    from graphwright.cli import main

    raise SystemExit(main(["worker", *sys.argv[1:]]))
