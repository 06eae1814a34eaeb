"""How the CLI starts: no garbage collection while modules load, LiteLLM imported early for model commands.

A cold `graphwright run` spends most of its time before the first model request importing modules
(LiteLLM alone ≈2.5 s of CPU here). Two things make that shorter:

- The cyclic garbage collector runs every few hundred allocations and walks everything allocated so
  far, so during a big import it walks the same module objects again and again (≈15 % of LiteLLM's
  import). Imports leave little garbage, so collection is paused while the command's modules load.
  For a model command it resumes when both the engine's modules and LiteLLM are in, after freezing
  what is alive then (out of every later collection); for other commands, when the command ends.
- For commands that call a model, LiteLLM is imported in a background thread as soon as the command
  is known, while the main thread imports the engine, reads, validates and compiles the config and
  opens the stores. (Both need the GIL, so the overlap is the waiting part: file reads, the stores'
  I/O.) There is no explicit join: the first call's `import litellm` waits on Python's module lock
  until this import has finished.

At the end, the process skips one more walk of everything: `load_litellm` registers `gc.unfreeze`
at exit (so that finalization collects the frozen objects and DuckDB's bindings report no leaks),
which costs a CLI process 0.5-3 s after its work is done. The command's stores are closed by then.
"""

from __future__ import annotations

import atexit
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MODEL_COMMANDS = frozenset({"run", "resume"})


@contextmanager
def collection_paused() -> Iterator[None]:
    """Garbage collection off for the block (unless something turns it back on), as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Resume:
    """Turns garbage collection back on once every party that loads modules has said it is done."""

    def __init__(self, parties: int) -> None:
        self._left = parties
        self._lock = threading.Lock()

    def done(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                gc.freeze()  # the modules loaded since LiteLLM's freeze: never walked again either
                gc.enable()


_resume: _Resume | None = None


def preload_litellm() -> threading.Thread | None:
    """Start importing LiteLLM in a daemon thread (None when it is already imported or importing).

    Collection resumes when this import and `engine_loaded()` have both happened.
    """
    global _resume
    if "litellm" in sys.modules:
        return None
    from orchestrator.llm import load_litellm  # before the thread: the main thread needs it anyway

    resume = _resume = _Resume(2)

    def run() -> None:
        try:
            load_litellm()
        except Exception:  # noqa: S110  the first model call imports it again and reports the failure
            pass
        finally:
            resume.done()

    thread = threading.Thread(target=run, name="graphwright-litellm-import", daemon=True)
    thread.start()
    return thread


def engine_loaded() -> None:
    """The main thread has set up the engine: import what a run imports first (the compiler and the
    run driver: LangGraph) while collection is still paused, then let it resume once LiteLLM is in."""
    global _resume
    import orchestrator.compiler  # noqa: F401
    import orchestrator.drive  # noqa: F401

    if _resume is not None:
        _resume.done()
        _resume = None


def skip_final_collection() -> None:
    """Leave the frozen objects frozen at exit: the process ends anyway (its stores are closed)."""
    atexit.unregister(gc.unfreeze)
