"""The production stack definition: healthchecks, restarts, volumes, secrets, non-root image."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_stack_has_every_service() -> None:
    assert set(SERVICES) == {"kafka", "elasticsearch", "kibana-password", "kibana", "setup", "worker", "collector"}
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert SERVICES["elasticsearch"]["image"].endswith(":8.15.3")
    assert SERVICES["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_a_restart_policy(name: str) -> None:
    service = SERVICES[name]
    assert service["healthcheck"]["test"]
    assert service["restart"] in {"unless-stopped", "on-failure", "always"}


def test_state_lives_in_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in declared, mount
    assert declared == {"kafka-data", "es-data", "kibana-data", "newsmon-data"}


def test_secrets_come_from_the_env_file_only() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"PASSWORD|ENCRYPTIONKEY", line) and ":" in line and not line.strip().startswith("#"):
            value = line.split(":", 1)[1]
            assert "${" in value or "$${" in value or "kibana_system" in value or value.strip() in ("elastic", ""), line
    example = (REPO / "deploy" / "env.example").read_text()
    for name in ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "KIBANA_ENCRYPTION_KEY"):
        assert re.search(rf"^{name}=", example, re.MULTILINE)


def test_workers_scale_and_wait_for_setup() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale worker=N` needs both absent
    assert worker["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert "newsmon es setup" in SERVICES["setup"]["command"][0]
    assert "newsmon kibana import" in SERVICES["setup"]["command"][0]
    assert SERVICES["setup"]["depends_on"]["kibana"]["condition"] == "service_healthy"


def test_image_runs_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", (REPO / "deploy" / "Dockerfile").read_text(), re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed (deploy/check-compose.sh installs it)")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["bash", str(REPO / "deploy" / "check-compose.sh")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
