"""The server's outermost middleware (``segmint.api.app.Admission``): security headers on every
answer (a route's own headers kept), ``Cache-Control: no-store`` under ``/api/``, 503 while the
workspace file is rewritten, and the count of requests being served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from segmint.api import Settings, create_app, first_admin_token
from segmint.api.app import SECURITY_HEADERS


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, Any, dict[str, str]]]:
    app = create_app(Settings(workspace=tmp_path / "w.duckdb", schedule_poll_s=0))
    token = first_admin_token(app)
    with TestClient(app) as client:
        yield client, app.state.segmint, {"Authorization": f"Bearer {token}"}
    app.state.segmint.close()


def _has_security_headers(response: Any) -> bool:
    return all(response.headers.get(k) == v for k, v in SECURITY_HEADERS.items())


def test_headers_on_api_answers_pages_and_errors(server):
    client, state, auth = server
    me = client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and _has_security_headers(me)
    assert me.headers["cache-control"] == "no-store"
    refused = client.get("/api/v1/me")  # answered by the token check, before any route
    assert refused.status_code == 401 and _has_security_headers(refused)
    assert refused.headers["cache-control"] == "no-store"
    missing = client.get("/api/v1/jobs/nope", headers=auth)
    assert missing.status_code == 404 and _has_security_headers(missing)
    page = client.get("/signin")
    assert page.status_code == 200 and _has_security_headers(page)
    assert state.active == 0


def test_a_routes_own_header_is_kept(server):
    client, _, _ = server
    js = client.get(client.app.state.web_plotly_src)
    assert js.status_code == 200 and "max-age=31536000" in js.headers["cache-control"]
    assert len(js.headers.get_list("cache-control")) == 1


def test_503_while_the_file_is_rewritten(server):
    client, state, auth = server
    state.paused = True
    try:
        api = client.get("/api/v1/me", headers=auth)
        assert api.status_code == 503 and api.json()["error"] == "Paused"
        assert api.headers["retry-after"] == "5" and _has_security_headers(api)
        page = client.get("/")
        assert page.status_code == 503 and "reloads by itself" in page.text
        assert page.headers["retry-after"] == "2" and _has_security_headers(page)
        assert state.active == 0  # not admitted
    finally:
        state.paused = False
    assert client.get("/api/v1/me", headers=auth).status_code == 200
