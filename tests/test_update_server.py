"""``segmint update`` through the server (issue 13): ``POST /api/v1/update`` and the web app's
Update page, on a real workspace with a first run.

A small sample shop's orders are split by date into the history (imported and segmented at
setup) and two later months; the API test sends one month, the web test the other, so each
update has new rows to add. What the pipeline computes is tested in ``tests/test_update.py``;
here: the upload, the job and its result, the refusals (a file imported before, a bad
``refit``, a viewer, a workspace without a run) and the summary the job page shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import segmint
from segmint.api import Settings, create_app, first_admin_token, services
from segmint.api.state import AppState
from segmint.spec.model import SegmentationSpec
from tests.test_web import csrf, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUTS = (pd.Timestamp("2024-11-01"), pd.Timestamp("2024-12-01"))


@dataclass
class Shop:
    app: FastAPI
    state: AppState
    client: TestClient
    tokens: dict[str, str]
    files: dict[str, Path]
    run_id: str

    def api(self, role: str, files: list[Path], **data: str) -> Any:
        sent = [("file", (p.name, p.read_bytes(), "text/csv")) for p in files]
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.post("/api/v1/update", headers=headers, files=sent, data=data)

    def uploads_left(self) -> list[Path]:
        return sorted(p for p in self.state.uploads.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("update-server")
    orders = segmint.datasets.make_retail(300, seed=7).orders
    at = orders.ordered_at
    files = {
        "old": root / "orders_old.csv",
        "november": root / "orders_november.csv",
        "december": root / "orders_december.csv",
    }
    orders[at < CUTS[0]].to_csv(files["old"], index=False)
    orders[(at >= CUTS[0]) & (at < CUTS[1])].to_csv(files["november"], index=False)
    orders[at >= CUTS[1]].to_csv(files["december"], index=False)
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    state = app.state.segmint
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin}
    for role in ("viewer", "analyst"):
        tokens[role] = state.tokens.create(f"{role}-user", role)[1]
    job = state.jobs.wait(services.start_ingest(state, "setup", files["old"]))
    assert job and job["status"] == "done", job
    specs = [
        SegmentationSpec(name="rfm", method="rfm"),
        SegmentationSpec(name="clusters", method="kmeans", k=3),
    ]
    job = state.jobs.wait(services.start_run(state, "setup", specs))
    assert job and job["status"] == "done", job
    with TestClient(app) as client:
        yield Shop(app, state, client, tokens, files, job["result"]["run_id"])


# -- the REST API ------------------------------------------------------------------------------


def test_update_over_the_api_rescores_from_the_new_rows_only(shop: Shop) -> None:
    answer = shop.api("analyst", [shop.files["november"]])
    assert answer.status_code == 202, answer.text
    assert answer.json()["kind"] == "update"
    job = shop.state.jobs.wait(answer.json()["job_id"])
    assert job is not None and job["status"] == "done", job
    r = job["result"]
    assert r["base_run"] == shop.run_id and r["run_id"] != r["base_run"]
    assert r["refit"] == "never" and r["refit_reason"] is None
    f = r["features"]
    assert f["incremental"] and 0 < f["rebuilt"] < f["customers"], f
    november = pd.read_csv(shop.files["november"])
    assert [i["file"] for i in r["imported"]] == ["orders_november.csv"]  # a name, not a path
    assert r["imported"][0]["table"] == "orders"
    assert r["imported"][0]["rows"] == len(november)
    sizes = {s["name"]: s["sizes"] for s in r["monitoring"]["segmentations"]}
    assert set(sizes) == {"rfm", "clusters"}
    for s in sizes.values():  # every customer has a segment in the new run
        assert sum(s["current"].values()) == f["customers"]
    seen = shop.client.get(
        f"/api/v1/jobs/{job['job_id']}",
        headers={"Authorization": f"Bearer {shop.tokens['viewer']}"},
    )
    assert seen.status_code == 200 and seen.json()["result"]["run_id"] == r["run_id"]
    assert shop.uploads_left() == []  # imported, then deleted with the job


def test_a_file_imported_before_fails_the_job_and_imports_nothing(shop: Shop) -> None:
    runs = len(shop.state.workspace().runs())
    answer = shop.api("analyst", [shop.files["old"]])
    assert answer.status_code == 202, answer.text
    job = shop.state.jobs.wait(answer.json()["job_id"])
    assert job is not None and job["status"] == "failed", job
    assert "already imported" in job["error"] and "nothing was imported" in job["error"]
    assert str(shop.state.settings.folder) not in job["error"]  # no server path
    assert len(shop.state.workspace().runs()) == runs
    assert shop.uploads_left() == []


def test_bad_options_and_low_roles_are_refused_before_a_job(shop: Shop) -> None:
    jobs = len(shop.state.jobs.list())
    bad = shop.api("analyst", [shop.files["december"]], refit="sometimes")
    assert bad.status_code == 400, bad.text
    assert "refit must be one of never, auto, always" in bad.json()["problem"]
    assert bad.json()["fix"]
    assert shop.api("analyst", [shop.files["december"]], into="purchases").status_code == 400
    assert shop.api("analyst", [shop.files["december"]], profile="maybe").status_code == 400
    viewer = shop.api("viewer", [shop.files["december"]])
    assert viewer.status_code == 403 and "needs the analyst role" in viewer.json()["detail"]
    headers = {"Authorization": f"Bearer {shop.tokens['analyst']}"}
    no_file = shop.client.post("/api/v1/update", headers=headers, data={"refit": "never"})
    assert no_file.status_code == 400
    assert len(shop.state.jobs.list()) == jobs
    assert shop.uploads_left() == []


def test_a_workspace_without_a_run_is_told_to_run_first(tmp_path: Path) -> None:
    app = create_app(Settings(workspace=tmp_path / "empty.duckdb"))
    token = first_admin_token(app)
    orders = tmp_path / "orders.csv"
    segmint.datasets.make_retail(20, seed=1).orders.to_csv(orders, index=False)
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/update",
            headers={"Authorization": f"Bearer {token}"},
            files=[("file", ("orders.csv", orders.read_bytes(), "text/csv"))],
        )
    assert answer.status_code == 400, answer.text
    assert "no segment run to update" in answer.json()["problem"]
    assert not any(p.is_file() for p in app.state.segmint.uploads.rglob("*"))


# -- the web app -------------------------------------------------------------------------------


def test_the_update_page_posts_and_the_job_page_shows_the_summary(shop: Shop) -> None:
    client = TestClient(shop.app)
    sign_in(client, shop.tokens["analyst"])
    form = client.get("/update")
    assert form.status_code == 200 and 'name="refit"' in form.text and "multiple" in form.text
    assert '<a href="/update"' in client.get("/").text  # in the navigation
    december = shop.files["december"]
    sent = client.post(
        "/update",
        data={"csrf": csrf(client), "refit": "never"},
        files=[("file", (december.name, december.read_bytes(), "text/csv"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    job_id = sent.headers["location"].rsplit("/", 1)[-1]
    job = shop.state.jobs.wait(job_id)
    assert job is not None and job["status"] == "done", job
    r = job["result"]
    text = client.get(f"/jobs/{job_id}").text
    rows = len(pd.read_csv(december))
    assert f"{rows:,} from 1 file" in text
    f = r["features"]
    assert f"{f['rebuilt']:,} of {f['customers']:,} customers&#39; features rebuilt" in text
    assert "nothing refitted" in text
    tables = re.findall(r'<table class="update-sizes" data-segmentation="([^"]+)"', text)
    assert tables == [s["name"] for s in r["monitoring"]["segmentations"]]
    base, cur = r["base_run"], r["run_id"]
    assert f'href="/monitor?baseline={base}&amp;current={cur}"' in text
    monitor = client.get(f"/monitor?baseline={base}&current={cur}")
    assert monitor.status_code == 200


def test_the_update_form_refuses_without_its_token_and_shows_a_bad_choice(shop: Shop) -> None:
    client = TestClient(shop.app)
    sign_in(client, shop.tokens["analyst"])
    december = shop.files["december"]
    files = [("file", (december.name, december.read_bytes(), "text/csv"))]
    forged = client.post("/update", data={"csrf": "x"}, files=files)
    assert forged.status_code == 403 and "CSRF" in forged.text
    bad = client.post("/update", data={"csrf": csrf(client), "refit": "often"}, files=files)
    assert bad.status_code == 400 and "The update was not started" in bad.text
    assert "refit must be one of" in bad.text
    assert shop.uploads_left() == []


def test_viewers_get_no_update_form(shop: Shop) -> None:
    client = TestClient(shop.app)
    sign_in(client, shop.tokens["viewer"])
    page = client.get("/update")
    assert page.status_code == 403 and "This needs the analyst role" in page.text
    assert 'name="refit"' not in page.text
    assert 'href="/update"' not in client.get("/").text


def test_the_upload_limit_holds_for_the_files_together(tmp_path: Path) -> None:
    """Two files under the limit each but over it together: 413, and nothing is kept; more
    files than MAX_FILES: 400."""
    from segmint.api.uploads import MAX_FILES

    app = create_app(Settings(workspace=tmp_path / "w.duckdb", max_upload_bytes=1024))
    token = first_admin_token(app)
    headers = {"Authorization": f"Bearer {token}"}
    part = b"order_id,customer_id\n" + b"1,2\n" * 150  # 621 bytes
    with TestClient(app) as client:
        two = [("file", (f"o{i}.csv", part, "text/csv")) for i in range(2)]
        big = client.post("/api/v1/update", headers=headers, files=two)
        assert big.status_code == 413, big.text
        assert "The files together are larger than the upload limit" in big.json()["problem"]
        many = [("file", (f"o{i}.csv", b"a,b\n1,2\n", "text/csv")) for i in range(MAX_FILES + 1)]
        refused = client.post("/api/v1/update", headers=headers, files=many)
        assert refused.status_code == 400, refused.text
        assert f"more than {MAX_FILES} files" in refused.json()["problem"]
    assert not any(p.is_file() for p in app.state.segmint.uploads.rglob("*"))
