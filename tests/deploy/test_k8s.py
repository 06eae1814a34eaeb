"""deploy/k8s: app replicas, workers scaled on the task queue's backlog, settings without secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def manifests() -> dict[tuple[str, str], Any]:
    docs: dict[tuple[str, str], Any] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in YAML(typ="safe", pure=True).load_all(path.read_text()):
            docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def test_app_replicas_and_workers_share_one_settings_map_and_one_secret() -> None:
    docs = manifests()
    config = docs[("ConfigMap", "graphwright-cluster")]["data"]
    assert set(config) >= {"GRAPHWRIGHT_POSTGRES_DSN", "GRAPHWRIGHT_TEMPORAL_ADDRESS", "GRAPHWRIGHT_TEMPORAL_TASK_QUEUE"}
    assert "@" in config["GRAPHWRIGHT_POSTGRES_DSN"] and ":" not in config["GRAPHWRIGHT_POSTGRES_DSN"].split("//")[1].split("@")[0]
    assert not any("KEY" in name or "PASSWORD" in name for name in config)  # those are in the Secret
    for name in ("graphwright-app", "graphwright-worker"):
        container = docs[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
        assert container["envFrom"] == [{"configMapRef": {"name": "graphwright-cluster"}},
                                        {"secretRef": {"name": "graphwright-secrets"}}]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert docs[("Deployment", "graphwright-app")]["spec"]["replicas"] >= 2


def test_workers_stop_gracefully_and_scale_on_the_task_queue_backlog() -> None:
    docs = manifests()
    pod = docs[("Deployment", "graphwright-worker")]["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert command[:4] == ["python", "-m", "graphwright", "worker"]
    grace = float(command[command.index("--grace") + 1])
    assert pod["terminationGracePeriodSeconds"] > grace  # SIGTERM: finish or hand back before the kill
    assert pod["containers"][0]["livenessProbe"]["exec"]["command"] == ["python", "-m", "cluster.health"]
    scaled = docs[("ScaledObject", "graphwright-worker")]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "graphwright-worker"
    trigger = scaled["triggers"][0]
    config = docs[("ConfigMap", "graphwright-cluster")]["data"]
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["taskQueue"] == config["GRAPHWRIGHT_TEMPORAL_TASK_QUEUE"]
    assert trigger["metadata"]["endpoint"] == config["GRAPHWRIGHT_TEMPORAL_ADDRESS"]
