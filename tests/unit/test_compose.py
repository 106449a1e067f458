"""docker-compose.yml: valid for the docker client where it exists, and complete either way."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin), else the standalone `docker-compose`, else None."""
    if shutil.which("docker"):
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_declares_the_deployment():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert {"db", "migrate", "worker", "dashboard"} <= set(services)
    assert services["db"]["image"].startswith("postgis/postgis")
    assert any(v.endswith("/var/lib/postgresql/data") for v in services["db"]["volumes"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("worker", "dashboard"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "DATABASE_URL" in services[name]["environment"]
    assert services["worker"]["command"][:2] == ["nsp", "worker"]
    assert services["dashboard"]["command"][:2] == ["nsp", "serve"]
    assert (ROOT / "Dockerfile").exists()


def test_docker_compose_config_accepts_the_file():
    compose = _compose_command()
    if compose is None:
        pytest.skip("no docker compose client on this machine: `config -q` not run")
    result = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, env={"NSP_DB_PASSWORD": "x", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
