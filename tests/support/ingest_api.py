"""POST /api/ingest (ingest/api.py) served on 127.0.0.1 from a thread, and a plain HTTP client for it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from tests.support.live import serve


@contextmanager
def ingest_api() -> Iterator[int]:
    """The ingest API alone (no dashboard) served from a thread; yields its port."""
    from ingest.delivery.api import blueprint

    app = Flask("test")
    app.register_blueprint(blueprint)
    with serve(app) as live:
        yield live.port


def post(port, body: bytes, token: str | None = None, query: str = "", chunked: bool = False):
    """POST ``body`` to /api/ingest; (status, the JSON answer or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/octet-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if chunked:
        c.request("POST", "/api/ingest" + query, body=iter([body[i:i + 4096] for i in range(0, len(body), 4096)]),
                  headers=headers, encode_chunked=True)
    else:
        c.request("POST", "/api/ingest" + query, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)
