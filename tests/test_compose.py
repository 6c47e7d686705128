"""docker-compose.yml stays a valid description of the real layout (no Docker engine here, so checked as data)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
PROCESSES = {"gateway": 8000, "accounts": 8101, "payments": 8102, "loans": 8103}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_process_and_both_servers_are_defined_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *PROCESSES}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"


def test_processes_are_wired_to_postgresql_and_redis(compose):
    for name, port in PROCESSES.items():
        service = compose["services"][name]
        env = service["environment"]
        assert env["OPENBANK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["OPENBANK_REDIS_URL"].startswith("redis://")
        assert env["PORT"] == str(port)
        assert service["command"] == ["openbank", "serve", name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    gateway = compose["services"]["gateway"]
    assert gateway["ports"] == ["8000:8000"]
    assert {"accounts", "payments", "loans"} <= set(gateway["depends_on"])
    assert gateway["environment"]["OPENBANK_ACCOUNTS_URL"] == "http://accounts:8101"


def test_only_the_gateway_is_published(compose):
    published = [name for name, service in compose["services"].items() if service.get("ports")]
    assert published == ["gateway"]


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_docker_compose_config_accepts_the_file():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker CLI without the compose plugin")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
