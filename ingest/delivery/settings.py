"""Settings of the delivery side of ingest: drop folder, HTTP endpoint, demo.

(The queue's own settings, ``NSP_QUEUE_*``, are in :mod:`nsp.queue`.)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from nsp.settings import STATE_DIR, settings_config


class WatchSettings(BaseSettings):
    model_config = settings_config("NSP_WATCH_")

    source: str = Field(default="dropfolder", description="source of files directly in the folder")
    poll_seconds: float = Field(default=1.0, gt=0, description="how often the folder is listed")
    keep_processed_days: float = Field(default=30, ge=0, description="loaded files in processed/ are deleted "
                                       "this many days after loading (0: kept for ever)")


class ListenSettings(BaseSettings):
    """``nsp listen``: live feeds over UDP and TCP into a drop folder."""

    model_config = settings_config("NSP_LISTEN_")

    host: str = Field(default="127.0.0.1", description="address a bare PORT listens on (0.0.0.0: every interface)")
    flush_seconds: float = Field(default=5.0, gt=0, description="what was received is written as one file this often")
    max_records: int = Field(default=5000, ge=1, description="... or as soon as this many messages wait")
    max_message_bytes: int = Field(default=65536, ge=256,
                                   description="a message longer than this is written as it is (and quarantined)")
    tls: bool = Field(default=False, description="TCP (--tcp and --connect) speaks TLS")
    tls_cert: Path | None = Field(default=None, description="with --tls: this end's certificate, PEM or PKCS#12 (.p12)")
    tls_key: Path | None = Field(default=None, description="with --tls: its private key, when not in the PEM certificate")
    tls_ca: Path | None = Field(default=None, description="with --tls: the CA to trust, PEM or a PKCS#12 truststore")
    tls_password: SecretStr | None = Field(default=None, description="password of the key or the PKCS#12 files")
    tak_user: str | None = Field(default=None,
                                 description="with --connect and CoT: log in to a TAK server input that asks for it")
    tak_password: SecretStr | None = Field(default=None, description="the --tak-user's password")
    tak_uid: str | None = Field(default=None, description="the uid nsp logs in as (default: nsp-HOSTNAME)")


class ApiSettings(BaseSettings):
    model_config = settings_config("NSP_API_")

    max_body_bytes: int = Field(default=20 * 1024 * 1024, gt=0,
                                description="largest body POST /api/ingest accepts (413 beyond)")
    spool_bytes: int = Field(default=4 * 1024 * 1024, gt=0,
                             description="bodies larger than this are spooled to a temp file")


class DemoSettings(BaseSettings):
    model_config = settings_config("NSP_DEMO_")

    dir: Path = Field(default=STATE_DIR / "demo", description="where `nsp demo` keeps its drop folder")
    days: int = Field(default=7, ge=1, description="days of scenario history")
    speed: float = Field(default=24.0, gt=0, description="the live scenario's event clock, times real time")
    port: int = Field(default=8050, description="port of the dashboard")


class AlertSettings(BaseSettings):
    """Webhook alerts (``nsp alerts``): how they are posted and retried."""

    model_config = settings_config("NSP_ALERT_")

    timeout_seconds: float = Field(default=5.0, gt=0, description="one POST's connect + read timeout")
    max_attempts: int = Field(default=10, ge=1, description="attempts before a delivery is given up (failed)")
    retry_seconds: float = Field(default=30.0, gt=0,
                                 description="wait after the first failed attempt; doubled each time, at most 30 min")
    link_base: str = Field(default="", description="the dashboard's address for the message's link "
                                                   "(as NSP_AUTH_BASE_URL); empty: no link")
    batch: int = Field(default=200, ge=1, description="deliveries one worker run posts at most")
