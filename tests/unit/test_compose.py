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
    assert "/healthz" in " ".join(services["dashboard"]["healthcheck"]["test"])
    # a fixed session key: a new container must not sign the kiosk walls out
    assert "NSP_AUTH_SECRET_KEY" in services["dashboard"]["environment"]
    # live AIS over the network into the drop folder the watcher and the workers share
    listen = services["ais-listen"]
    assert listen["command"][:2] == ["nsp", "listen"] and "10110:10110/udp" in listen["ports"]
    out = listen["command"][listen["command"].index("--out") + 1]
    assert out.startswith("/srv/nsp/inbox/") and "inbox:/srv/nsp/inbox" in listen["volumes"]
    assert services["watch"]["command"] == ["nsp", "watch", "/srv/nsp/inbox"]
    assert (ROOT / "Dockerfile").exists()


def test_docker_compose_config_accepts_the_file():
    compose = _compose_command()
    if compose is None:
        pytest.skip("no docker compose client on this machine: `config -q` not run")
    result = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True,
        env={"NSP_DB_PASSWORD": "x", "NSP_AUTH_SECRET_KEY": "y", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    # the optional read replica (profile "replica") too
    result = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "--profile", "replica", "config"],
        capture_output=True, text=True,
        env={"NSP_DB_PASSWORD": "x", "NSP_AUTH_SECRET_KEY": "y", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    replica = yaml.safe_load(result.stdout)["services"]["db-replica"]
    assert "pg_basebackup" in " ".join(replica["command"]) and replica["profiles"] == ["replica"]


def test_an_optional_read_replica_streams_from_db():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    rep = services["db-replica"]
    assert rep["profiles"] == ["replica"]  # not started unless asked for
    assert rep["image"] == services["db"]["image"]  # the same PostgreSQL and PostGIS as the primary
    script = " ".join(rep["command"])
    assert "pg_basebackup -h db" in script and " -R " in script and "hot_standby=on" in script
    assert rep["depends_on"]["db"]["condition"] == "service_healthy"
    assert any(v.endswith(":/var/lib/postgresql/data") and not v.startswith("pgdata:") for v in rep["volumes"])
    # the primary allows replication (the script it runs when it creates the database)
    hba = next(v for v in services["db"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    script_path = ROOT / hba.split(":")[0]
    assert "host replication" in script_path.read_text()
    # every app service may read on it
    for name in ("worker", "dashboard"):
        assert "NSP_DB_READ_URL" in services[name]["environment"]


def _settings_env_names() -> set[str]:
    """The environment variables nsp's settings classes read (prefix + field name)."""
    import importlib

    from pydantic_settings import BaseSettings

    names = {"DATABASE_URL"}
    for module in ("nsp.settings", "nsp.access", "nsp.replica", "nsp.queue", "geo.snapshot.settings", "ingest.settings",
                   "ingest.delivery.settings", "dashboard.settings", "nsp.auth_settings"):
        for obj in vars(importlib.import_module(module)).values():
            if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings:
                prefix = obj.model_config.get("env_prefix", "")
                names |= {f"{prefix}{field}".upper() for field in obj.model_fields}
    return names


def test_every_variable_the_deployment_sets_is_one_nsp_reads():
    # NSP_EXPORT_DIR (the setting is NSP_EXPORT_OUT_DIR) sat here unread until 2026-12-02.
    known = _settings_env_names()
    assert {"NSP_EXPORT_OUT_DIR", "NSP_GEO_TIMEZONE", "NSP_INGEST_MAX_BYTES", "NSP_AUTH_SECRET_KEY"} <= known
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in doc["services"].items():
        if name in ("db", "db-replica"):  # PostgreSQL's own containers
            continue
        unknown = set(service.get("environment", {})) - known
        assert not unknown, f"{name}: {sorted(unknown)} are read by no nsp setting"


def test_workers_reach_the_files_watch_queues_and_the_dashboard_the_exports_they_write():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]

    def mounts(name):
        return {v.split(":")[1]: v.split(":")[0] for v in services[name].get("volumes", [])}

    inbox = services["watch"]["command"][-1]
    assert mounts("watch").get(inbox) and mounts("worker").get(inbox) == mounts("watch")[inbox]
    out_dir = services["worker"]["environment"]["NSP_EXPORT_OUT_DIR"]
    assert services["dashboard"]["environment"]["NSP_EXPORT_OUT_DIR"] == out_dir
    assert mounts("worker").get(out_dir) and mounts("dashboard").get(out_dir) == mounts("worker")[out_dir]

