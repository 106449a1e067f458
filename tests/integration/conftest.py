"""Fixtures of the integration tests (the database ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.ingest_api import ingest_api


@pytest.fixture
def server(db_url, monkeypatch):
    """The ingest API on the test's database (bodies up to 20,000 bytes); yields its port."""
    monkeypatch.setenv("NSP_API_MAX_BODY_BYTES", "20000")
    with ingest_api() as port:
        yield port
