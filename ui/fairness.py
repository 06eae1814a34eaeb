"""A fair share of Gradio's queue: each visitor may have only a few events waiting at once.

Gradio's queue is first-come for everyone: one session filled all 64 places and another visitor's
run did not finish within 30 s (issue 14, item 15). Run *slots* are capped per visitor by
`history.quotas` (a refused run leaves its slot at once); this caps the *waiting* events, so one
visitor's volume never decides how long another waits. A visitor is a Gradio session here (one
browser tab or one API client), the same unit that owns runs.
"""

from __future__ import annotations

import os
from typing import Any

QUEUED_PER_VISITOR = 8


def queued_per_visitor() -> int:
    return int(os.environ.get("GRAPHWRIGHT_QUEUE_PER_VISITOR", str(QUEUED_PER_VISITOR)))


def _waiting_from(queue: Any, session_hash: str) -> int:
    return sum(1 for events in queue.event_queue_per_concurrency_id.values() for event in events.queue
               if event.session_hash == session_hash)


def share_queue_fairly(demo: Any, per_visitor: int | None = None) -> None:
    """Refuse a new event from a visitor who already has `per_visitor` events waiting (HTTP 503)."""
    cap = queued_per_visitor() if per_visitor is None else per_visitor
    queue = demo._queue
    push = queue.push

    async def fair_push(body: Any, request: Any, username: str | None) -> tuple[bool, Any, str]:
        if body.session_hash and _waiting_from(queue, body.session_hash) >= cap:
            return (False, f"You already have {cap} requests waiting; wait for them to finish before "
                           "sending more.", "queue_full")
        return await push(body=body, request=request, username=username)

    queue.push = fair_push
