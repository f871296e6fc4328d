"""Feedback and needs over the REST API (TestClient, a real workspace file): the sample shop's
orders, reviews and survey answers uploaded and imported as a user would; ``POST
/feedback/analyze`` as a job; the topics with examples, the texts a page at a time and as CSV,
the per-segment summary of a run, and the survey's factor solution; a bad request is a 400
before any job."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import segmint
from tests.test_api import Api

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Server(Api):
    """The shop's orders and feedback, one rfm run after the texts were analysed."""

    def __init__(self, root: Path) -> None:
        from fastapi.testclient import TestClient

        from segmint.api import Settings, create_app, first_admin_token

        self.root = root
        files = segmint.datasets.make_retail(400, seed=8).to_files(root / "data", format="csv")
        self.app = create_app(Settings(workspace=root / "w.duckdb", schedule_poll_s=0))
        self.state = self.app.state.segmint
        self.client = TestClient(self.app)
        admin = first_admin_token(self.app)
        assert admin is not None
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = self.state.tokens.create(role, role)[1]
        for name in ("orders", "feedback"):
            job = self.upload_and_import(files[name], table=name)
            assert job["status"] == "done", job


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("api-feedback"))
    with server.client:
        yield server
    server.state.close()


def _job(api: Server, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    job = api.state.jobs.wait(response.json()["job_id"])
    assert job is not None and job["status"] == "done", job
    result: dict[str, Any] = job["result"]
    return result


def test_analyze_is_a_job_and_topics_show_examples(api: Server) -> None:
    assert api.get("/api/v1/feedback/topics", "analyst").json() is None  # not analysed yet
    bad = api.post("/api/v1/feedback/analyze", json={"topics": 1})
    assert bad.status_code in (400, 422)
    done = _job(api, api.post("/api/v1/feedback/analyze", json={"topics": 3}))
    assert done["texts"] > 0 and len(done["topics"]) == 3
    ov = api.get("/api/v1/feedback/topics", "analyst").json()
    assert ov["analysis_id"] == done["analysis_id"]
    assert sum(t["n_texts"] for t in ov["topics"]) <= ov["texts"]
    assert all(1 <= len(t["examples"]) <= 3 for t in ov["topics"])
    # texts are what customers wrote: not for viewers
    assert api.get("/api/v1/feedback/topics", "viewer").status_code == 403


def test_texts_a_page_at_a_time_and_as_csv(api: Server) -> None:
    page = api.get("/api/v1/feedback/texts", "analyst", params={"limit": 7, "offset": 2}).json()
    assert len(page["items"]) == 7 and page["offset"] == 2
    assert {"customer_id", "sentiment", "sentiment_label", "topic", "language"} <= set(
        page["items"][0]
    )
    text = api.get("/api/v1/feedback/texts.csv", "analyst").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == page["total"]


def test_the_summary_per_segment_of_a_run(api: Server) -> None:
    run = _job(api, api.post("/api/v1/runs", json={"segmentations": [{"name": "rfm",
                                                                       "method": "rfm"}]}))  # fmt: skip
    got = api.get("/api/v1/feedback/summary", params={"run_id": run["run_id"]}).json()
    assert got["segmentation"] == "rfm"
    summary = got["summary"]
    assert summary["segments"] and summary["n_texts"] > 0
    stored = api.get(f"/api/v1/runs/{run['run_id']}/segmentations/rfm").json()
    assert stored["feedback"]["n_texts"] == summary["n_texts"]
    missing = api.get("/api/v1/feedback/summary", params={"segmentation": "nope"})
    assert missing.status_code == 400 and "nope" in missing.text
    typo = api.get("/api/v1/feedback/summary", params={"segmentaton": "rfm"})
    assert typo.status_code == 400 and "segmentaton" in typo.text


def test_needs_is_the_factor_solution(api: Server) -> None:
    got = api.get("/api/v1/needs").json()
    assert len(got["factors"]) == 3  # the sample shop plants three needs
    assert all(f["alpha"] > 0.7 for f in got["factors"])
    kaiser = api.get("/api/v1/needs", params={"rule": "kaiser"}).json()
    assert kaiser["rule"] == "kaiser"
    assert api.get("/api/v1/needs", params={"factors": "x"}).status_code == 422
