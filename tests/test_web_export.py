"""The web app's Export form and Exports page through FastAPI's TestClient: roles, CSRF, the
file sent and deleted, a refusal shown on the card, the log. (In a real browser:
test_browser_export.py.)"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from segmint.activate.exporters import all_exporters
from segmint.api import Settings, create_app, first_admin_token
from tests.activate_support import make_workspace
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RUN = "0001-segment"


@dataclass
class Site:
    app: FastAPI
    tokens: dict[str, str]
    folder: Path

    def client(self, role: str) -> TestClient:
        client = TestClient(self.app)
        sign_in(client, self.tokens[role])
        return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web-export")
    n = 60
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "email": [f"p{i}@example.org" for i in range(n)],
            "first_name": ["Zoë"] * n,
            "last_name": [f"Lee{i}" for i in range(n)],
            "consent_email": [i % 3 != 0 for i in range(n)],  # 40 of 60
            "consent_ads": [True] * n,
        }
    )
    segments = {f"C{i:02d}": "A" for i in range(n)}
    make_workspace(root / "w.duckdb", customers, segments, names={"A": "Weekend buyers"}).close()
    app = create_app(Settings(workspace=root / "w.duckdb"))
    state = app.state.segmint
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin}
    for role in ("viewer", "analyst"):
        tokens[role] = state.tokens.create(f"{role}-user", role)[1]
    with TestClient(app):
        yield Site(app, tokens, state.settings.folder)


def _form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf_of(page), "s": "seg", "label": "A", **fields}


def test_the_card_offers_every_destination_to_analysts_only(site: Site) -> None:
    page = site.client("analyst").get(f"/runs/{RUN}?s=seg").text
    assert 'action="/runs/0001-segment/export"' in page
    offered = re.findall(r'<option value="([^"]+)" data-hashable', page)
    assert offered == list(all_exporters())
    viewer = site.client("viewer")
    assert "export-form" not in viewer.get(f"/runs/{RUN}?s=seg").text
    r = viewer.post(f"/runs/{RUN}/export", data=_form(viewer.get("/").text, to="csv"))
    assert r.status_code == 403 and "analyst" in r.text


def test_export_downloads_the_file_logs_it_and_deletes_it(site: Site) -> None:
    client = site.client("analyst")
    page = client.get(f"/runs/{RUN}?s=seg").text
    r = client.post(f"/runs/{RUN}/export", data=_form(page, to="mailchimp", hashed="1"))
    assert r.status_code == 200, r.text
    assert 'filename="seg-Weekend_buyers-mailchimp.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 40 and {row["First Name"] for row in rows} == {"Zoë"}
    assert not list(site.folder.glob("export-*"))
    log = client.get("/exports").text
    row = re.search(r'<tr data-export-id="x\d+">(.*?)</tr>', log, re.S)
    assert row, log
    assert "analyst-user" in row.group(1) and "<code>download</code>" in row.group(1)
    assert re.search(r'data-field="rows_written">40<', row.group(1))
    assert "20 no consent" in row.group(1)
    # every signed-in role reads the log
    assert site.client("viewer").get("/exports").status_code == 200


def test_a_refusal_is_shown_on_the_card(site: Site) -> None:
    client = site.client("analyst")
    page = client.get(f"/runs/{RUN}?s=seg").text
    r = client.post(f"/runs/{RUN}/export", data=_form(page, to="google-ads", hashed="1"))
    assert r.status_code == 400
    assert "<h1>Results: seg" in r.text and '<details class="export" open>' in r.text
    assert "needs at least 100 people" in r.text and "has 60 of the 60" in r.text
    bad = client.post(f"/runs/{RUN}/export", data=_form(page, to="myspace"))
    assert bad.status_code == 400 and "no export destination" in bad.text
    assert not list(site.folder.glob("export-*"))


def test_the_form_needs_its_csrf_token(site: Site) -> None:
    client = site.client("analyst")
    r = client.post(
        f"/runs/{RUN}/export", data={"csrf": "forged", "s": "seg", "label": "A", "to": "csv"}
    )
    assert r.status_code == 403 and "expired" in r.text
