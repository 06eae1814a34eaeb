"""Worker health from Temporal: who polls the task queue and when each was last seen.

The Settings tab (for the operator) shows this table; it asks Temporal, not the workers, so a
worker that died drops off the list once Temporal stops seeing it poll (about a minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cluster.temporal_client import TemporalSettings, connect


@dataclass(frozen=True)
class LiveWorker:
    identity: str  # host:pid
    task_queue: str
    kinds: tuple[str, ...]  # "workflow", "activity": what it polls for
    last_seen: datetime | None


async def live_workers(settings: TemporalSettings, client: Any = None) -> list[LiveWorker]:
    """The workers polling the run task queue, from Temporal's description of it."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = client or await connect(settings, attempts=1)
    seen: dict[str, tuple[set[str], datetime | None]] = {}
    for kind, queue_type in (("workflow", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                             ("activity", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)):
        response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=settings.namespace, task_queue=TaskQueue(name=settings.task_queue), task_queue_type=queue_type))
        for poller in response.pollers:
            kinds, last = seen.get(poller.identity, (set(), None))
            kinds.add(kind)
            when = poller.last_access_time.ToDatetime() if poller.HasField("last_access_time") else None
            seen[poller.identity] = (kinds, max(filter(None, (last, when)), default=None))
    return [LiveWorker(identity, settings.task_queue, tuple(sorted(kinds)), last)
            for identity, (kinds, last) in sorted(seen.items())]


def main() -> int:
    """`python -m cluster.health`: exit 0 when a worker on this host polls the task queue (the worker
    process is up, connected and taking work). Containers ask the same with `cluster/healthcheck.sh`."""
    import asyncio
    import socket

    from cluster.temporal_client import TemporalSettings

    try:
        workers = asyncio.run(live_workers(TemporalSettings.from_env()))
    except Exception as exc:  # unreachable server, bad settings: unhealthy, and why
        print(f"unhealthy: {exc}")
        return 1
    host = socket.gethostname()
    mine = [w for w in workers if w.identity.rsplit(":", 1)[0] == host]
    print(f"{len(mine)} worker(s) of {host} polling {workers[0].task_queue if workers else 'the queue'}")
    return 0 if mine else 1


if __name__ == "__main__":
    raise SystemExit(main())
