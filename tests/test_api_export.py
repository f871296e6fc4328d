"""``POST …/segmentations/{name}/export`` and ``GET /api/v1/exports`` over HTTP (FastAPI's
TestClient) against the API test server of tests/test_api.py, with the sample shop's customers
(e-mails, consent) imported after its run: the file sent, the log row (token name, path
``download``, the file's hash), consent honoured, the refusals and the roles."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from tests.test_api import Api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = Api(tmp_path_factory.mktemp("api-export"))
    with server.client:
        job = server.upload_and_import(server.orders.with_name("customers.csv"), table="customers")
        assert job["status"] == "done", job
        yield server
    server.state.close()


def _url(api: Api, name: str = "rfm") -> str:
    return f"/api/v1/runs/{api.run_id}/segmentations/{name}/export"


def _segments(api: Api, name: str = "rfm") -> list[dict[str, Any]]:
    got = api.get(f"/api/v1/runs/{api.run_id}/segmentations/{name}").json()
    return sorted(got["profiles"]["segments"], key=lambda s: -s["size"])


def _consent(api: Api, column: str) -> dict[str, bool | None]:
    rows = (
        api.state.meta.store.db.cursor()
        .execute(f"SELECT customer_id, {column}, lower(trim(email)) FROM customers")
        .fetchall()
    )
    return {r[2]: r[1] for r in rows if r[2]}


def _log(api: Api, role: str = "viewer") -> list[dict[str, Any]]:
    r = api.get("/api/v1/exports", role)
    assert r.status_code == 200, r.text
    return list(r.json())


def test_export_sends_the_file_and_logs_it_as_a_download(api: Api) -> None:
    seg = _segments(api)[0]
    before = len(_log(api))
    r = api.post(_url(api), "analyst", json={"segments": [seg["name"]], "to": "mailchimp"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "mailchimp.csv" in disposition
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["Email Address", "First Name", "Last Name", "Tags"]
    body = rows[1:]
    assert 0 < len(body) <= seg["size"] and {row[3] for row in body} == {seg["name"]}
    # only customers with e-mail consent: never one whose consent is false or missing
    consent = _consent(api, "consent_email")
    assert all(consent.get(row[0]) is True for row in body)
    log = _log(api)
    assert len(log) == before + 1
    entry = log[0]
    assert entry["export_id"] == r.headers["x-segmint-export-id"]
    assert entry["created_by"] == "analyst" and entry["path"] == "download"
    assert entry["rows_written"] == len(body) == int(r.headers["x-segmint-rows"])
    assert entry["sha256"] == hashlib.sha256(r.content).hexdigest() == r.headers["x-segmint-sha256"]
    assert entry["rows_written"] + sum(entry["left_out"].values()) == seg["size"]
    assert entry["segment_names"] == [seg["name"]] and entry["destination"] == "mailchimp"
    # the file was sent and deleted: nothing is left in the server's folder
    assert not list(api.state.settings.folder.glob("export-*"))


def test_several_segments_and_assumed_consent_are_recorded(api: Api) -> None:
    a, b = (s["label"] for s in _segments(api)[:2])
    r = api.post(_url(api), "admin", json={"segments": [a, b], "to": "csv", "assume_consent": True})
    assert r.status_code == 200, r.text
    entry = _log(api)[0]
    assert entry["segments"] == [a, b] and entry["assume_consent"] is True
    assert entry["created_by"] == "admin"
    frame = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["segment"] for row in frame} == {a, b} and len(frame) == entry["rows_written"]


def test_a_too_small_ad_audience_is_400_unless_min_size_is_lowered(api: Api) -> None:
    # the smallest RFM segment of at least 20 customers: far below 100 with ads consent
    small = next(s for s in reversed(_segments(api)) if s["size"] >= 20)
    assert small["size"] < 100
    before = len(_log(api))
    body = {"segments": [small["label"]], "to": "google-ads"}
    r = api.post(_url(api), "analyst", json=body)
    assert r.status_code == 400, r.text
    assert "needs at least 100 people" in r.json()["problem"]
    assert len(_log(api)) == before and not list(api.state.settings.folder.glob("export-*"))
    r = api.post(_url(api), "analyst", json={**body, "min_size": 0})
    assert r.status_code == 200, r.text
    consent = _consent(api, "consent_ads")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == _log(api)[0]["rows_written"]
    # hashed by default: the e-mails in the file are SHA-256 of consenting customers' e-mails
    hashed = {hashlib.sha256(e.encode()).hexdigest(): c for e, c in consent.items()}
    assert all(hashed.get(row["Email"]) is True for row in rows if row["Email"])


def test_missing_things_are_404_and_bad_options_400(api: Api) -> None:
    seg = _segments(api)[0]["label"]
    r = api.post(_url(api), "analyst", json={"segments": ["Whales"], "to": "csv"})
    assert r.status_code == 404 and "'Whales'" in r.json()["problem"]
    assert _segments(api)[0]["name"] in r.json()["fix"]
    assert api.post(_url(api, "nope"), json={"segments": [seg], "to": "csv"}).status_code == 404
    r = api.post(
        "/api/v1/runs/0000-none/segmentations/rfm/export", json={"segments": [seg], "to": "csv"}
    )
    assert r.status_code == 404
    r = api.post(_url(api), json={"segments": [seg], "to": "myspace"})
    assert r.status_code == 400 and "mailchimp" in r.json()["fix"]
    r = api.post(_url(api), json={"segments": [seg], "to": "mailchimp", "hashed": True})
    assert r.status_code == 400 and "plain text" in r.json()["problem"]
    assert api.post(_url(api), json={"segments": [], "to": "csv"}).status_code == 422
    assert api.post(_url(api), json={"segments": [seg], "to": "csv", "x": 1}).status_code == 422
    assert not list(api.state.settings.folder.glob("export-*"))


def test_viewers_read_the_log_but_cannot_export(api: Api) -> None:
    seg = _segments(api)[0]["label"]
    r = api.post(_url(api), "viewer", json={"segments": [seg], "to": "csv"})
    assert r.status_code == 403 and "analyst" in r.json()["detail"]
    assert api.get("/api/v1/exports", "viewer").status_code == 200
    assert api.get("/api/v1/exports", None).status_code == 401


def test_the_log_is_the_workspace_log(api: Api, tmp_path: Path) -> None:
    """Exports from Python land in the same log the API lists (newest first)."""
    import segmint

    seg = _segments(api)[0]["label"]
    ws = segmint.Workspace(api.root / "w.duckdb")
    try:
        done = ws.export("rfm", seg, to="csv", out=tmp_path / "x.csv", run=api.run_id)
    finally:
        ws.close()
    log = _log(api)
    assert log[0]["export_id"] == done.export_id and log[0]["path"] == str(
        (tmp_path / "x.csv").resolve()
    )
    ids = [e["export_id"] for e in log]
    assert ids == sorted(ids, reverse=True)
