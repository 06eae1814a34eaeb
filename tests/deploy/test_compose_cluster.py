"""docker-compose.yml's `cluster` profile: PostgreSQL, a Temporal dev server, two workers and an app replica."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = {"postgres", "temporal", "worker", "app-cluster"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load((ROOT / "docker-compose.yml").read_text())["services"]


def test_the_cluster_profile_has_its_four_services_and_leaves_the_default_alone(services) -> None:
    profiled = {name for name, service in services.items() if "cluster" in service.get("profiles", [])}
    assert profiled == CLUSTER
    assert "profiles" not in services["app"]  # `docker compose up` is still the embedded app alone
    assert services["worker"]["deploy"]["replicas"] == 2


def test_every_cluster_image_is_built_here_from_the_projects_base(services) -> None:
    for name in CLUSTER:
        build = services[name]["build"]
        assert build["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-python:3.11-slim}", name
        assert "/" not in services[name]["image"].split(":")[0], f"{name} names a registry image"
    assert (ROOT / build["context"] / "Dockerfile").exists()
    assert services["worker"]["build"]["args"]["REQUIREMENTS"] == "requirements-cluster.txt"


def test_every_cluster_service_is_health_checked(services) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in CLUSTER:
        assert "healthcheck" in services[name] or (name == "app-cluster" and "HEALTHCHECK" in dockerfile), name
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "sh", "/app/cluster/healthcheck.sh"]
    assert (ROOT / "cluster" / "healthcheck.sh").exists() and "COPY cluster ./cluster" in dockerfile
    for name in ("worker", "app-cluster"):
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert services[name]["depends_on"]["temporal"] == {"condition": "service_healthy"}


def test_no_secret_is_written_in_the_file_and_workers_stop_gracefully(services) -> None:
    env = services["worker"]["environment"]
    assert env["GRAPHWRIGHT_POSTGRES_DSN"] == "postgresql://graphwright@postgres:5432/graphwright"  # no password
    assert env["PGPASSWORD"] == "${GRAPHWRIGHT_PG_PASSWORD:-}"
    assert env["OPENAI_API_KEY"] is None and services["app-cluster"]["environment"] == env
    assert services["worker"]["stop_signal"] == "SIGTERM"
    assert services["worker"]["read_only"] is True and services["worker"]["cap_drop"] == ["ALL"]


def test_the_cluster_password_is_checked_by_postgres_not_by_the_default_profile() -> None:
    """`docker compose up` (no cluster) must not need the cluster's password; Postgres still refuses to start without it."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert "GRAPHWRIGHT_PG_PASSWORD:?" not in text
    assert ":?set POSTGRES_PASSWORD" in (ROOT / "deploy" / "postgres" / "entrypoint.sh").read_text()


def test_the_docs_give_the_compose_commands_the_end_to_end_test_runs() -> None:
    from tests.deploy.test_compose_cluster_run import DOWN, HISTORY, RUN, SERVICES, UP

    docs = (ROOT / "docs" / "scaling.md").read_text()
    deploy = docs[docs.index("### Deploy"):]
    for command in (f"docker compose --profile cluster {' '.join(UP[:3])}", " ".join(SERVICES),
                    f"docker compose exec -T app-cluster sh -c '{RUN}'",
                    f"docker compose exec -T app-cluster {' '.join(HISTORY)}",
                    f"docker compose --profile cluster {' '.join(DOWN)}"):
        assert command in deploy, f"docs/scaling.md's Deploy section lacks `{command}`"
    assert f"docker compose --profile cluster {' '.join(UP[:3])}" in (ROOT / "README.md").read_text()
