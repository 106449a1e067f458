"""Fixtures of the integration tests (the database ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from ingest.settings import ingest_settings
from nsp.settings import geo_settings
from tests.support.ingest_api import ingest_api


@pytest.fixture
def server(db_url, monkeypatch):
    """The ingest API on the test's database (bodies up to 20,000 bytes); yields its port."""
    monkeypatch.setenv("NSP_API_MAX_BODY_BYTES", "20000")
    with ingest_api() as port:
        yield port


@pytest.fixture
def anywhere(monkeypatch):
    """The captures are from California and England, 2008-2024: widen the region and age."""
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    monkeypatch.setenv("NSP_INGEST_MAX_AGE_DAYS", "0")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    yield
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
