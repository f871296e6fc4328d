"""Identity resolution over the REST API (TestClient, a real workspace file): a customers file
of 30 people, each with a second record under another id (a typo, another e-mail, a missing
birth date, a move), uploaded and imported as a user would; ``POST /dedupe`` as a job, the
identity map a page at a time and as CSV, explanations that add up, the review queue, and
decisions that take effect at once and hold through a retrained run."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.test_api import Api
from tests.test_identity import pair_scores, people

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Server(Api):
    """An Api server without the shop: only the customers file with its planted copies."""

    def __init__(self, root: Path) -> None:
        from fastapi.testclient import TestClient

        from segmint.api import Settings, create_app, first_admin_token

        self.root = root
        self.truth = people(30, 1.0, seed=4)
        # a copy whose id a spreadsheet would run as a formula
        self.truth.loc[self.truth.customer_id == "D00001", "customer_id"] = "=D00001"
        self.customers = root / "customers.csv"
        self.truth.drop(columns=["truth"]).to_csv(self.customers, index=False)
        self.app = create_app(Settings(workspace=root / "w.duckdb", schedule_poll_s=0))
        self.state = self.app.state.segmint
        self.client = TestClient(self.app)
        admin = first_admin_token(self.app)
        assert admin is not None
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = self.state.tokens.create(role, role)[1]
        job = self.upload_and_import(self.customers, table="customers")
        assert job["status"] == "done", job

    def dedupe(self, **body: Any) -> dict[str, Any]:
        r = self.post("/api/v1/dedupe", json=body)
        assert r.status_code == 202, r.text
        assert r.json()["kind"] == "dedupe" and r.json()["created_by"] == "analyst"
        job = self.state.jobs.wait(r.json()["job_id"])
        assert job is not None and job["status"] == "done", job
        done: dict[str, Any] = job["result"]
        return done

    def persons(self) -> dict[str, str]:
        """customer id → person id, read a page at a time."""
        out: dict[str, str] = {}
        offset = 0
        while True:
            page = self.get(
                "/api/v1/identity/clusters", "analyst", params={"offset": offset, "limit": 25}
            ).json()
            out |= {r["customer_id"]: r["person_id"] for r in page["items"]}
            offset += 25
            if offset >= page["total"]:
                return out


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("api-identity"))
    with server.client:
        server.first = server.dedupe()  # type: ignore[attr-defined]
        yield server
    server.state.close()


def test_dedupe_is_a_job_that_links_the_copies(api: Server) -> None:
    done = api.first  # type: ignore[attr-defined]
    assert done["mode"] == "full" and done["records"] == 60
    assert done["linked"] == done["records"] - done["persons"] > 0
    assert done["comparisons"] and done["fields"] and done["blocking"]
    truth = dict(zip(api.truth.customer_id, api.truth.truth, strict=True))
    precision, recall = pair_scores(api.persons(), truth)
    assert precision >= 0.9 and recall >= 0.7, (precision, recall)
    # the job's result is the run's: the map holds every record, and nothing else
    assert set(api.persons()) == set(truth)


def test_the_map_a_page_at_a_time_and_as_csv(api: Server) -> None:
    page = api.get("/api/v1/identity/clusters", "analyst", params={"linked_only": True}).json()
    assert page["total"] == len(page["items"]) > 0
    assert all(r["cluster_size"] > 1 and 0.5 < r["match_probability"] <= 1 for r in page["items"])
    persons = [r["person_id"] for r in page["items"]]
    assert persons == sorted(persons)  # ordered by person
    everyone = api.get("/api/v1/identity/clusters", "analyst", params={"limit": 1000}).json()
    alone = [r for r in everyone["items"] if r["cluster_size"] == 1]
    assert alone and all(r["match_probability"] is None for r in alone)  # NaN in the map
    second = api.get(
        "/api/v1/identity/clusters", "analyst", params={"offset": 50, "limit": 25}
    ).json()
    assert [r["customer_id"] for r in second["items"]] == [
        r["customer_id"] for r in everyone["items"][50:]
    ]
    download = api.get("/api/v1/identity/clusters.csv", "analyst")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert 'filename="persons.csv"' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == everyone["total"] == 60
    assert {"customer_id", "cluster_id", "match_probability", "cluster_size"} <= set(rows[0])
    ids = {r["customer_id"] for r in rows}
    assert "'=D00001" in ids and "=D00001" not in ids  # neutralized in the file only
    assert "=D00001" in {r["customer_id"] for r in everyone["items"]}
    assert api.get("/api/v1/identity/clusters", "viewer").status_code == 403


def _adds_up(pair: dict[str, Any]) -> None:
    steps = pair["steps"]
    final = next(s for s in steps if s["column"] == "Final score")["match_weight"]
    parts = sum(s["match_weight"] or 0 for s in steps if s["column"] != "Final score")
    assert parts == pytest.approx(final, abs=1e-6)
    assert final == pytest.approx(pair["match_weight"], abs=1e-6)
    assert pair["match_probability"] == pytest.approx(1 / (1 + 2**-final), abs=1e-9)


def test_an_explanation_shows_the_records_and_adds_up(api: Server) -> None:
    page = api.get("/api/v1/identity/clusters", "analyst", params={"linked_only": True}).json()
    row = page["items"][0]
    r = api.get("/api/v1/identity/explain", "analyst", params={"customer_id": row["customer_id"]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["person_id"] == row["person_id"]
    members = {x["customer_id"] for x in page["items"] if x["person_id"] == row["person_id"]}
    assert {rec["customer_id"] for rec in got["records"]} == members
    assert got["pairs"] and all(p["match_probability"] >= got["threshold"] for p in got["pairs"])
    for pair in got["pairs"]:
        _adds_up(pair)
        compared = [s for s in pair["steps"] if s["column"] not in ("Prior", "Final score")]
        assert any(s["value_l"] and s["value_r"] for s in compared)  # the values compared
    # one pair, linked or not
    a, b = sorted(members)[:2]
    one = api.get(
        "/api/v1/identity/explain", "analyst", params={"customer_id": a, "other": b}
    ).json()
    assert [(p["customer_id_l"], p["customer_id_r"]) for p in one["pairs"]] == [(a, b)]
    _adds_up(one["pairs"][0])
    missing = api.get("/api/v1/identity/explain", "analyst", params={"customer_id": "NOPE"})
    assert missing.status_code == 400
    assert "NOPE" in missing.json()["problem"] and missing.json()["fix"]


def test_decisions_take_effect_at_once_and_hold_through_a_new_run(api: Server) -> None:
    queue = api.get("/api/v1/identity/review", "analyst", params={"n": 50}).json()
    assert queue and all(q["record_l"]["customer_id"] == q["customer_id_l"] for q in queue)
    before = api.persons()
    # a linked pair (a person of two) a reviewer says are two people
    sizes = pd.Series(before).value_counts()
    a, b = sorted(c for c, p in before.items() if p == sizes[sizes == 2].index[0])
    # two unlinked records a reviewer says are one
    c, d = next(
        (q["customer_id_l"], q["customer_id_r"])
        for q in queue
        if before[q["customer_id_l"]] != before[q["customer_id_r"]]
    )

    def decide(x: str, y: str, decision: str) -> Any:
        body = {"customer_id_a": x, "customer_id_b": y, "decision": decision}
        return api.post("/api/v1/identity/decisions", json=body)

    rejected = decide(b, a, "reject")  # either order
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["mode"] == "recluster"
    assert decide(c, d, "accept").status_code == 200
    now = api.persons()
    assert now[a] != now[b] and now[c] == now[d]
    left = api.get("/api/v1/identity/review", "analyst", params={"n": 50}).json()
    assert not {(a, b), tuple(sorted((c, d)))} & {
        (q["customer_id_l"], q["customer_id_r"]) for q in left
    }
    explained = api.get(
        "/api/v1/identity/explain", "analyst", params={"customer_id": c, "other": d}
    ).json()
    assert explained["pairs"][0]["decision"] == "accept"

    retrained = api.dedupe(incremental=False)
    assert retrained["mode"] == "full" and retrained["decisions"] == 2
    later = api.persons()
    assert later[a] != later[b] and later[c] == later[d]

    assert decide(c, d, "clear").status_code == 200
    assert api.persons()[c] != api.persons()[d]
    assert decide(a, b, "clear").status_code == 200
    assert api.persons()[a] == api.persons()[b]
    audit = api.get("/api/v1/audit", "admin", params={"action": "identity_decision"}).json()
    assert len(audit) == 4 and {e["actor"] for e in audit} == {"analyst"}


def test_a_decision_waits_for_a_dedupe_job(api: Server) -> None:
    """The job rewrites the persons a decision changes: while one is queued, a 400."""
    release = threading.Event()
    blocker = api.state.jobs.submit("hold", "test", lambda progress: release.wait(60) and {})
    try:
        r = api.post("/api/v1/dedupe", json={})
        assert r.status_code == 202
        ids = sorted(api.persons())[:2]
        body = {"customer_id_a": ids[0], "customer_id_b": ids[1], "decision": "reject"}
        refused = api.post("/api/v1/identity/decisions", json=body)
        assert refused.status_code == 400 and "running" in refused.json()["problem"]
    finally:
        release.set()
    api.state.jobs.wait(blocker)
    job = api.state.jobs.wait(r.json()["job_id"])
    assert job is not None and job["status"] == "done", job


def test_bad_requests_say_what_is_wrong(api: Server) -> None:
    def decide(**body: Any) -> Any:
        return api.post("/api/v1/identity/decisions", json=body)

    ids = sorted(api.persons())[:2]
    assert api.post("/api/v1/dedupe", json={"threshold": 1.5}).status_code == 422
    assert api.post("/api/v1/dedupe", json={"mode": "fast"}).status_code == 422
    bad = decide(customer_id_a=ids[0], customer_id_b=ids[1], decision="maybe")
    assert bad.status_code == 422
    same = decide(customer_id_a=ids[0], customer_id_b=ids[0], decision="accept")
    assert same.status_code == 400 and same.json()["fix"]
    unknown = decide(customer_id_a=ids[0], customer_id_b="NOPE", decision="accept")
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["problem"]
    assert api.get("/api/v1/identity/review", "analyst", params={"n": 0}).status_code == 422


def test_a_workspace_without_customers_or_fields_is_refused_before_a_job(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    import segmint
    from segmint.api import Settings, create_app, first_admin_token

    def server(name: str) -> tuple[TestClient, dict[str, str]]:
        app = create_app(Settings(workspace=tmp_path / name, schedule_poll_s=0))
        return TestClient(app), {"Authorization": f"Bearer {first_admin_token(app)}"}

    client, headers = server("empty.duckdb")
    with client:
        empty = client.post("/api/v1/dedupe", headers=headers, json={})
        assert empty.status_code == 400 and empty.json()["where"] == "customers"
    files = segmint.datasets.make_retail(50, seed=2).to_files(tmp_path / "data", format="csv")
    with segmint.Workspace(tmp_path / "orders.duckdb") as ws:  # orders only: ids, no names
        ws.ingest(files["orders"])
        ws.clean()
    client, headers = server("orders.duckdb")
    with client:
        ids_only = client.post("/api/v1/dedupe", headers=headers, json={})
        assert ids_only.status_code == 400 and "compare" in ids_only.json()["problem"]
        no_model = client.post("/api/v1/dedupe", headers=headers, json={"incremental": True})
        assert no_model.status_code == 400 and "model" in no_model.json()["problem"]
        assert client.get("/api/v1/jobs", headers=headers).json() == []
        none_yet = client.get("/api/v1/identity/review", headers=headers)
        assert none_yet.status_code == 400 and "dedupe" in none_yet.json()["fix"]


def test_the_persons_page_shows_what_the_api_answers(api: Server) -> None:
    """The page and the endpoints call the same services: the same counts, the same queue,
    the same refusals (shown on the page with their paragraph)."""
    from fastapi.testclient import TestClient

    from tests.test_web import csrf_of, sign_in

    client = TestClient(api.app)
    sign_in(client, api.tokens["analyst"])
    page = client.get("/persons")
    assert page.status_code == 200
    persons = api.persons()
    records, people_ = len(persons), len(set(persons.values()))
    assert f'data-field="records">{records:,}<' in page.text
    assert f'data-field="persons">{people_:,}<' in page.text
    queue = api.get("/api/v1/identity/review", "analyst", params={"n": 10}).json()
    shown = re.findall(r'class="card review-pair" data-pair="([^"]+)"', page.text)
    assert shown == [f"{q['customer_id_l']}|{q['customer_id_r']}" for q in queue]
    assert "% sure" in page.text
    missing = client.get("/persons", params={"explain": "NOPE"})
    assert missing.status_code == 400 and "There is no customer" in missing.text
    token = csrf_of(page.text)
    bad = client.post("/persons/decide", data={"csrf": token, "a": "NOPE", "b": shown[0][:6],
                                                "decision": "accept"})  # fmt: skip
    assert bad.status_code == 400 and "NOPE" in bad.text
    assert (
        client.post("/persons/dedupe", data={"csrf": token, "threshold": "150"}).status_code == 400
    )
    viewer = TestClient(api.app)
    sign_in(viewer, api.tokens["viewer"])
    assert viewer.get("/persons").status_code == 403
