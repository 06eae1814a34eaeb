"""Reads a sandbox container's stdout and stderr as they are written, keeping at most a cap of each.

The container is attached to before it starts, so nothing is missed and nothing is written to the
host's disk (the log driver is "none"). Bytes past the cap are read and dropped, so a chatty program
is not blocked on a full pipe; once both streams are over the cap the connection is closed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol


class _Stream(Protocol):
    def __iter__(self) -> Iterator[tuple[bytes | None, bytes | None]]: ...

    def close(self) -> None: ...


class _Capped:
    """One stream's head, up to `cap` bytes, and whether anything was dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.cap - self.size
        if room > 0:
            kept = data[:room]
            self.chunks.append(kept)
            self.size += len(kept)
        self.dropped += max(0, len(data) - max(room, 0))

    @property
    def full(self) -> bool:
        return self.dropped > 0

    def text(self, name: str) -> str:
        text = b"".join(self.chunks).decode("utf-8", errors="replace")
        if self.dropped:
            text += (
                f"\n[{name} truncated: kept the first {self.cap} bytes, dropped at least {self.dropped} more]"
            )
        return text


class OutputCollector:
    """Drains an attach stream of `(stdout, stderr)` frames in a daemon thread."""

    def __init__(self, stream: _Stream, cap: int) -> None:
        self._stream = stream
        self._out = _Capped(cap)
        self._err = _Capped(cap)
        self._thread = threading.Thread(target=self._drain, name="sandbox-output", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the stream to end; False when it did not within `timeout` (it is then closed)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.close()
            self._thread.join(1.0)
            return False
        return True

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail in many ways; it is closed
            pass

    def _drain(self) -> None:
        try:
            for out, err in self._stream:
                if out:
                    self._out.add(out)
                if err:
                    self._err.add(err)
                if self._out.full and self._err.full:
                    break
        except Exception:  # noqa: BLE001 - the connection ends abruptly when the container is killed
            pass
        finally:
            self.close()

    @property
    def truncated(self) -> bool:
        return self._out.full or self._err.full

    def stdout(self) -> str:
        return self._out.text("stdout")

    def stderr(self) -> str:
        return self._err.text("stderr")
