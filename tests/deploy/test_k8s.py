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
    assert pod["containers"][0]["livenessProbe"]["exec"]["command"] == ["sh", "/app/cluster/healthcheck.sh"]
    scaled = docs[("ScaledObject", "graphwright-worker")]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "graphwright-worker"
    trigger = scaled["triggers"][0]
    config = docs[("ConfigMap", "graphwright-cluster")]["data"]
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["taskQueue"] == config["GRAPHWRIGHT_TEMPORAL_TASK_QUEUE"]
    assert trigger["metadata"]["endpoint"] == config["GRAPHWRIGHT_TEMPORAL_ADDRESS"]


# --- the manifests as Kubernetes objects, consistent with the image and the code -----------------------

import re  # noqa: E402

import pytest  # noqa: E402

ROOT = K8S.parents[1]
KUBERNETES = "1.33.0"  # the oldest release still supported upstream when these were written
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CODE_DIRS = ("app.py", "cluster", "orchestrator", "history", "chatbot", "ui", "graphwright", "schemas")
SCALED_OBJECT_SPEC = {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod",
                      "idleReplicaCount", "initialCooldownPeriod", "fallback", "advanced", "triggers"}  # KEDA 2.17


def _docs() -> list[Any]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in YAML(typ="safe", pure=True).load_all(path.read_text())]


def _pods() -> dict[str, dict[str, Any]]:
    return {name: doc["spec"]["template"]["spec"] for (kind, name), doc in manifests().items() if kind == "Deployment"}


@pytest.mark.parametrize("doc", _docs(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_a_valid_kubernetes_object(doc: dict[str, Any]) -> None:
    import kubernetes_validate

    if doc["apiVersion"].startswith("keda.sh/"):  # a CRD: not in Kubernetes' own schemas
        assert doc["apiVersion"] == "keda.sh/v1alpha1" and doc["kind"] == "ScaledObject"
        assert set(doc["spec"]) <= SCALED_OBJECT_SPEC, set(doc["spec"]) - SCALED_OBJECT_SPEC
        return
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # raises on a wrong type or an unknown field


def test_services_and_deployments_select_their_own_pods() -> None:
    docs = manifests()
    for (kind, name), doc in docs.items():
        if kind == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"]
            assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items(), name
        if kind == "Service":
            pods = [d for (k, _), d in docs.items() if k == "Deployment"
                    and doc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()]
            assert len(pods) == 1, f"Service {name} selects {len(pods)} Deployments"
            ports = {p.get("name") for c in pods[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            assert all(p["targetPort"] in ports for p in doc["spec"]["ports"]), name


def _code_text() -> str:
    files = [ROOT / d for d in CODE_DIRS if (ROOT / d).is_file()]
    files += [p for d in CODE_DIRS if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py")]
    return "\n".join(p.read_text() for p in files)


def test_every_setting_the_manifests_give_is_one_the_code_reads() -> None:
    code = _code_text()
    docs = manifests()
    names = set(docs[("ConfigMap", "graphwright-cluster")]["data"])
    names |= {e["name"] for pod in _pods().values() for c in pod["containers"] for e in c.get("env", [])}
    unread = sorted(n for n in names if f'"{n}"' not in code)
    assert not unread, f"set in deploy/k8s but read nowhere in the code: {unread}"
    data_dir = docs[("ConfigMap", "graphwright-cluster")]["data"]["GRAPHWRIGHT_DATA_DIR"]
    assert f"GRAPHWRIGHT_DATA_DIR={data_dir}" in DOCKERFILE and f'VOLUME ["{data_dir}"]' in DOCKERFILE


def test_images_users_ports_and_probes_match_the_dockerfile_and_the_code() -> None:
    compose = YAML(typ="safe", pure=True).load((ROOT / "docker-compose.yml").read_text())["services"]
    image = compose["worker"]["image"].split(":-", 1)[1].rstrip("}")  # ${GRAPHWRIGHT_CLUSTER_IMAGE:-<default>}
    user, group = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE, re.M).groups()
    exposed = {int(p) for p in re.findall(r"^EXPOSE (\d+)$", DOCKERFILE, re.M)}
    home = re.search(r"HOME=(\S+)", DOCKERFILE).group(1)
    health_path = re.search(r'Route\("([^"]+)", _healthz\)', (ROOT / "ui" / "app.py").read_text()).group(1)
    assert f"127.0.0.1:7860{health_path}" in DOCKERFILE  # the image's HEALTHCHECK probes the same route
    assert f"127.0.0.1:7860{health_path}" in " ".join(compose["app-cluster"]["healthcheck"]["test"])  # and compose
    for name, pod in _pods().items():
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(user), int(group))
        for container in pod["containers"]:
            assert container["image"] == image, name
            assert {p["containerPort"] for p in container.get("ports", [])} <= exposed, name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", home} <= mounts, f"{name}: a read-only root needs its scratch dirs writable"
            for probe in (container.get("readinessProbe"), container.get("livenessProbe")):
                if "httpGet" in probe:
                    assert probe["httpGet"]["path"] == health_path, name
                else:
                    assert probe["exec"]["command"] == compose["worker"]["healthcheck"]["test"][1:], name


def test_the_worker_command_is_one_the_cli_accepts() -> None:
    from graphwright.cli import build_parser

    command = _pods()["graphwright-worker"]["containers"][0]["command"]
    assert command[:3] == ["python", "-m", "graphwright"]
    args = build_parser().parse_args(command[3:])  # exits (SystemExit) on an unknown flag
    assert (args.max_runs, args.grace) == (8, 10.0)
    probe = _pods()["graphwright-worker"]["containers"][0]["livenessProbe"]["exec"]["command"]
    assert probe[0] == "sh" and "WORKDIR /app" in DOCKERFILE and "COPY cluster ./cluster" in DOCKERFILE
    assert (ROOT / Path(probe[1]).relative_to("/app")).is_file()  # the image's copy of the repository's script
