"""``POST /api/v1/experiments/analyze`` over HTTP against the API test server of
tests/test_api.py: a campaign imported into campaign_contacts, split by the run's stored RFM
segments; an uploaded results file; the roles; a campaign name never reads a file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.test_api import Api

URL = "/api/v1/experiments/analyze"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("api-experiment")
    server = Api(root)
    with server.client:
        db = server.state.meta.store.db.cursor()
        ids = [
            r[0]
            for r in db.execute(
                "SELECT customer_id FROM segment_assignments WHERE run_id = ? AND "
                "segmentation = 'rfm' ORDER BY customer_id",
                [server.run_id],
            ).fetchall()
        ]
        rng = np.random.default_rng(3)
        path = root / "contacts.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["campaign_id", "customer_id", "variant", "converted", "revenue"])
            for cid in ids:
                arm = "B" if rng.random() < 0.5 else "control"
                conv = rng.random() < (0.3 if arm == "B" else 0.2)
                w.writerow(["spring", cid, arm, int(conv), 25.0 if conv else 0.0])
        job = server.upload_and_import(path, table="campaign_contacts")
        assert job["status"] == "done", job
        server.contacts = path  # type: ignore[attr-defined]
        yield server
    server.state.close()


def test_campaign_split_by_stored_segments(api: Api) -> None:
    r = api.post(URL, "viewer", json={"campaign": "spring", "by": "rfm"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metrics"] == {"converted": "proportion", "revenue": "mean"}
    sizes = {
        s["name"]: s["size"]
        for s in api.get(f"/api/v1/runs/{api.run_id}/segmentations/rfm").json()["profiles"][
            "segments"
        ]
    }
    assert set(body["segments"]) == set(sizes)
    for name, size in sizes.items():
        assert sum(body["counts"][name].values()) == size
    overall = [c for c in body["comparisons"] if c["segment"] == "All customers"]
    assert {(c["metric"], c["variant"]) for c in overall} == {
        ("converted", "B"),
        ("revenue", "B"),
    }
    assert all(isinstance(c["verdict"], str) and c["verdict"] for c in body["comparisons"])


def test_uploaded_file_needs_an_analyst(api: Api) -> None:
    up = api.upload(api.contacts)  # type: ignore[attr-defined]
    assert up.status_code == 201, up.text
    settings = {
        "upload_id": up.json()["upload_id"],
        "variant_column": "variant",
        "metrics": ["converted"],
        "correction": "bh",
    }
    assert api.post(URL, "viewer", json=settings).status_code == 403
    r = api.post(URL, "analyst", json=settings)
    assert r.status_code == 200, r.text
    assert r.json()["variants"] == ["B", "control"]


def test_user_errors_and_a_name_that_is_a_path(api: Api, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("variant,converted\ncontrol,1\nB,0\n", encoding="utf-8")
    r = api.post(URL, "viewer", json={"campaign": str(secret), "metrics": ["converted"]})
    assert r.status_code == 400, r.text
    assert "no campaign with that id" in r.json()["problem"]
    r = api.post(URL, "viewer", json={"campaign": "spring", "control": "A"})
    assert r.status_code == 400 and "variants found are: B, control" in r.json()["fix"]
    r = api.post(URL, "viewer", json={"campaign": "spring", "upload_id": "0" * 32})
    assert r.status_code == 400 and "not both" in r.json()["problem"]
    assert api.post(URL, None, json={"campaign": "spring"}).status_code == 401


def test_power(api: Api) -> None:
    from segmint.measure.power import sample_size

    r = api.get(
        "/api/v1/experiments/power",
        "viewer",
        params={"baseline": 0.05, "mde": 0.1, "segment_size": 20000},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_per_arm"] == sample_size(0.05, 0.1).n_per_arm
    assert body["enough"] is False and body["verdict"].startswith("No")
    r = api.get("/api/v1/experiments/power", "viewer", params={"baseline": 40, "mde": 0.05,
                                                               "kind": "mean"})  # fmt: skip
    assert r.status_code == 400 and "standard deviation" in r.json()["problem"]
    r = api.get("/api/v1/experiments/power", "viewer", params={"baseline": 1.5, "mde": 0.1})
    assert r.status_code == 400
