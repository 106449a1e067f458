"""The password hash's cost (NSP_AUTH_HASH_*, nsp/passwords.py)."""

from __future__ import annotations

import argon2

from nsp.auth_settings import AuthSettings
from nsp.passwords import hasher

PASSWORD = "correct horse battery staple"


def test_the_production_cost_is_argon2_cffis_default(monkeypatch):
    for name in ("NSP_AUTH_HASH_TIME_COST", "NSP_AUTH_HASH_MEMORY_KIB", "NSP_AUTH_HASH_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)  # the tests' own low cost (tests/conftest.py) left out
    default = argon2.PasswordHasher()
    made = hasher(AuthSettings()).hash(PASSWORD)
    assert made.startswith(f"$argon2id$v=19$m={default.memory_cost},t={default.time_cost},p={default.parallelism}$")
    assert (default.memory_cost, default.time_cost, default.parallelism) == (65536, 3, 4)


def test_a_hash_carries_its_cost_and_verifies_at_any_setting(monkeypatch):
    monkeypatch.setenv("NSP_AUTH_HASH_TIME_COST", "2")
    monkeypatch.setenv("NSP_AUTH_HASH_MEMORY_KIB", "16384")
    monkeypatch.setenv("NSP_AUTH_HASH_PARALLELISM", "2")
    cheap = hasher(AuthSettings()).hash(PASSWORD)
    assert cheap.startswith("$argon2id$v=19$m=16384,t=2,p=2$")
    other = hasher(AuthSettings(hash_time_cost=1, hash_memory_kib=8192, hash_parallelism=1))
    assert other.verify(cheap, PASSWORD)
    assert other.check_needs_rehash(cheap)  # made at another cost than this setting's
