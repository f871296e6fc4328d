"""Consent records (``consent_events``): what imports record, and setting consent by hand
through the CLI, Python, the REST API and the web app, each with its audit row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app as cli
from segmint.privacy.keys import keyed_hash, workspace_key
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

runner = CliRunner()


def _customers(path: Path, rows: list[dict[str, Any]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _events(ws: segmint.Workspace, run_id: str | None = None) -> list[tuple[Any, ...]]:
    sql = 'SELECT customer_id, channel, status, source, "at" FROM consent_events'
    params: list[Any] = []
    if run_id:
        sql += " WHERE run_id = ?"
        params.append(run_id)
    return sorted(ws.store.db.execute(sql + " ORDER BY ALL", params).fetchall())


def test_an_import_records_only_what_changed(tmp_path: Path) -> None:
    first = _customers(
        tmp_path / "c1.csv",
        [
            {"customer_id": "a", "consent_email": True, "consent_profiling": False},
            {"customer_id": "b", "consent_email": False, "consent_profiling": None},
            {"customer_id": "c", "consent_email": None, "consent_profiling": None},
        ],
    )
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        r1 = ws.ingest(first, into="customers")
        assert _events(ws, r1.run_id) == [
            ("a", "email", "granted", "c1.csv", _events(ws)[0][4]),
            ("a", "profiling", "denied", "c1.csv", _events(ws)[0][4]),
            ("b", "email", "denied", "c1.csv", _events(ws)[0][4]),
        ]  # a missing value is no record
        # a takes e-mail back, b grants it, c is unchanged; the file says nothing of profiling
        second = _customers(
            tmp_path / "c2.csv",
            [
                {"customer_id": "a", "consent_email": False, "consent_date": "2024-05-01"},
                {"customer_id": "b", "consent_email": True, "consent_date": "2024-05-02"},
                {"customer_id": "c", "consent_email": None, "consent_date": None},
            ],
        )
        r2 = ws.ingest(second, into="customers")
        got = _events(ws, r2.run_id)
        assert [(c, ch, s) for c, ch, s, _, _ in got] == [
            ("a", "email", "revoked"),
            ("b", "email", "granted"),
        ]
        assert [str(e[4])[:10] for e in got] == ["2024-05-01", "2024-05-02"]  # the file's dates
        ws.clean()
        flags = dict(
            ws.store.db.execute("SELECT customer_id, consent_profiling FROM customers").fetchall()
        )
        assert flags == {"a": False, "b": None, "c": None}  # the objection was not undone
        third = _customers(tmp_path / "c3.csv", [{"customer_id": "a", "consent_email": False}])
        assert not _events(ws, ws.ingest(third, into="customers").run_id)  # nothing new


def _workspace(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    rows = [{"customer_id": "ann@example.org", "email": "ann@example.org", "consent_sms": True}]
    with segmint.Workspace(path) as ws:
        ws.ingest(_customers(tmp_path / "c.csv", rows), into="customers")
    return path


def _audit(ws: segmint.Workspace) -> list[tuple[Any, ...]]:
    return ws.store.db.execute(
        "SELECT actor, origin, action, target, detail FROM audit_log "
        "WHERE action = 'consent.set' ORDER BY logged_at"
    ).fetchall()


def test_cli_sets_and_shows_consent_with_an_audit_row(tmp_path: Path) -> None:
    path = _workspace(tmp_path)
    w = ["-w", str(path)]
    args = ["consent", "set", "--customer", "ann@example.org", "--channel", "sms", "--revoke"]
    done = runner.invoke(cli, [*args, "--source", "ticket 12", *w])
    assert done.exit_code == 0, done.output
    assert "revoked" in done.output
    shown = runner.invoke(cli, ["consent", "show", "--customer", "ann@example.org", "--json", *w])
    history = json.loads(shown.output)
    assert [(e["channel"], e["status"], e["source"]) for e in history] == [
        ("sms", "granted", "c.csv"),
        ("sms", "revoked", "ticket 12"),
    ]
    for bad in (
        ["consent", "set", "--customer", "nobody", "--channel", "sms", "--deny"],
        ["consent", "set", "--customer", "ann@example.org", "--channel", "fax", "--deny"],
        ["consent", "set", "--customer", "ann@example.org", "--channel", "sms"],
    ):
        refused = runner.invoke(cli, [*bad, *w])
        assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
    with segmint.Workspace(path) as ws:
        assert ws.store.db.execute("SELECT consent_sms FROM customers").fetchone()[0] is False
        audit = _audit(ws)
        assert [(a[1], a[3]) for a in audit] == [
            ("cli", keyed_hash(workspace_key(ws.store), "ann@example.org"))
        ]
        assert "ann@example.org" not in json.dumps([str(a) for a in audit])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], Path]]:
    path = _workspace(tmp_path)
    app = create_app(Settings(workspace=path))
    state = app.state.segmint
    tokens = {"admin": first_admin_token(app) or ""}
    for role in ("viewer", "analyst"):
        tokens[role] = state.tokens.create(f"{role}-user", role)[1]
    with TestClient(app):
        yield app, tokens, path
    state.close()


def test_rest_api_sets_consent_for_analysts(server: tuple[Any, dict[str, str], Path]) -> None:
    app, tokens, _ = server
    client = TestClient(app)
    body = {"customer_id": "ann@example.org", "channel": "profiling", "status": "denied"}

    def call(role: str, method: str = "POST") -> Any:
        auth = {"Authorization": f"Bearer {tokens[role]}"}
        if method == "GET":
            return client.get("/api/v1/consent/ann@example.org", headers=auth)
        return client.post("/api/v1/consent", headers=auth, json=body)

    assert call("viewer").status_code == 403 and call("viewer", "GET").status_code == 403
    r = call("analyst")
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "analyst-user" and r.json()["status"] == "denied"
    history = call("admin", "GET").json()
    assert [(e["channel"], e["status"]) for e in history][-1] == ("profiling", "denied")
    bad = client.post(
        "/api/v1/consent",
        headers={"Authorization": f"Bearer {tokens['analyst']}"},
        json={**body, "customer_id": "nobody"},
    )
    assert bad.status_code == 400 and "nobody" in bad.json()["problem"]
    ws = app.state.segmint.meta
    assert [(a[0], a[2], json.loads(a[4])) for a in _audit(ws)] == [
        ("analyst-user", "consent.set", {"channel": "profiling", "status": "denied"})
    ]


def test_web_consent_page_records_a_decision(server: tuple[Any, dict[str, str], Path]) -> None:
    app, tokens, _ = server
    client = TestClient(app)
    sign_in(client, tokens["analyst"])
    page = client.get("/consent?customer=ann@example.org")
    assert page.status_code == 200 and "granted" in page.text  # the import's record
    form = {
        "csrf": csrf_of(page.text),
        "customer": "ann@example.org",
        "channel": "email",
        "status": "granted",
        "source": "double opt-in",
    }
    done = client.post("/consent", data=form)
    assert done.status_code == 200, done.text[:500]
    assert "Recorded: email granted" in done.text and "double opt-in" in done.text
    refused = client.post("/consent", data={**form, "channel": "fax"})
    assert refused.status_code == 400 and "fax" in refused.text
    viewer = TestClient(app)
    sign_in(viewer, tokens["viewer"])
    assert viewer.get("/consent").status_code == 403
    ws = app.state.segmint.meta
    assert ws.store.db.execute("SELECT consent_email FROM customers").fetchone()[0] is True
    assert [a[0] for a in _audit(ws)] == ["analyst-user"]
