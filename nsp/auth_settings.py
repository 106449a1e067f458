"""Login, sessions and hardening settings (env prefix ``NSP_AUTH_``)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from ipaddress import ip_address, ip_network
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsp.settings import STATE_DIR


class GroupGrant(BaseModel):
    """What membership of one identity-provider group grants (SSO header mode)."""

    role: Literal["watch_officer", "sector_commander", "analyst", "admin"]
    sections: list[str] = []


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NSP_AUTH_", env_file=".env", extra="ignore")

    mode: Literal["password", "header"] = Field(
        default="password",
        description="password: the login page and app_user; header: a trusted reverse proxy's headers",
    )
    secret_key: str | None = Field(
        default=None,
        description="signs session cookies; unset: a random key kept in .nsp/secret_key",
    )
    cookie_secure: bool = Field(default=True, description="session cookie only over HTTPS (false for http dev)")
    cookie_samesite: Literal["Lax", "Strict"] = Field(default="Lax", description="SameSite of the session cookie")
    idle_minutes: int = Field(default=30, ge=1, description="log out after this long without user activity")
    max_failed_logins: int = Field(
        default=5, ge=1, description="failed sign-ins of a name before each further one is slowed down")
    login_delay_seconds: float = Field(
        default=1.0, gt=0, description="the first wait of a slowed name; doubles with each further failure")
    login_delay_max_seconds: float = Field(
        default=30.0, gt=0, description="the longest wait of a slowed name (a request is held, never refused)")
    login_failure_seconds: float = Field(
        default=0.5, ge=0, description="every failed sign-in answers after at least this long (same time for all)")
    client_max_attempts: int = Field(
        default=20, ge=1, description="sign-in attempts per client address and window (successes are not counted)")
    client_window_seconds: int = Field(default=300, ge=1, description="the window of the per-client limit")
    client_address_header: str = Field(
        default="X-Forwarded-For",
        description="header in which NSP_AUTH_TRUSTED_PROXIES name the client; empty: the peer address only")
    password_min_length: int = Field(default=10, ge=8, description="shortest password `nsp users` accepts")
    password_min_score: int = Field(
        default=3, ge=0, le=4, description="lowest zxcvbn strength (0-4) `nsp users` accepts; common passwords score 0")
    # The password hash (argon2id): a new cost applies to the passwords set from then on.
    hash_time_cost: int = Field(default=3, ge=1, description="argon2id passes over the memory per password hash")
    hash_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory per password hash, KiB")
    hash_parallelism: int = Field(default=4, ge=1, description="argon2id lanes per password hash")
    # SSO header mode.
    header_user: str = Field(default="X-Remote-User", description="header carrying the user name")
    header_groups: str = Field(default="X-Remote-Groups", description="header carrying the groups")
    groups_separator: str = Field(default=",", description="separator of groups in that header")
    group_roles: dict[str, GroupGrant] = Field(
        default_factory=dict,
        description='JSON: {"group": {"role": "...", "sections": ["LV-BY-01"]}}',
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="JSON list of addresses/networks of reverse proxies: their identity headers (header mode) "
        "and client-address header are honoured",
    )
    # Hardening.
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="JSON list of extra origins (scheme://host[:port]) allowed to POST; "
        "the request's own host is always allowed",
    )
    token_auth_prefixes: list[str] = Field(
        default_factory=lambda: ["/api/ingest"],
        description="JSON list of path prefixes authenticated by bearer tokens, not sessions "
        "(no login redirect, no CSRF check)",
    )
    hsts_seconds: int = Field(default=31536000, ge=0, description="Strict-Transport-Security max-age on HTTPS")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            ip_network(item, strict=False)
        return v

    def is_trusted_proxy(self, addr: str | None) -> bool:
        if not addr:
            return False
        try:
            a = ip_address(addr)
        except ValueError:
            return False
        return any(a in ip_network(n, strict=False) for n in self.trusted_proxies)

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = STATE_DIR / "secret_key"
        if not path.exists():
            # Several workers may start at once: the first link wins, the others read it.
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"secret_key.{os.getpid()}.tmp")
            tmp.write_text(secrets.token_hex(32))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


@lru_cache
def auth_settings() -> AuthSettings:
    return AuthSettings()
