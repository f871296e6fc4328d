"""Erasure through the server (issue 14): ``POST /api/v1/erase`` and the web app's Erase page.

Admin only (viewer and analyst get 403); a dry run answers at once; the erasure is a job
that closes the server's connections, rewrites the workspace file and opens them again, so
the server keeps answering afterwards. Uploads (the server's copies of imported files) that
held the person are deleted. What the erasure removes is tested in ``tests/test_erase.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import segmint
from segmint.api import Settings, create_app, first_admin_token, services
from segmint.api.state import AppState
from segmint.spec.model import SegmentationSpec
from tests.test_web import csrf, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Server:
    state: AppState
    client: TestClient
    tokens: dict[str, str]
    customers: Any
    uploaded: list[Path]

    def post(self, role: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.post("/api/v1/erase", headers=headers, json=body)

    def holds(self, customer_id: str) -> int:
        ws = self.state.workspace()
        row = ws.store.db.execute(
            "SELECT (SELECT count(*) FROM customers WHERE customer_id = ?) + "
            "(SELECT count(*) FROM orders WHERE customer_id = ?) + "
            "(SELECT count(*) FROM segment_assignments WHERE customer_id = ?)",
            [customer_id] * 3,
        ).fetchone()
        return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("erase-server")
    shop = segmint.datasets.make_retail(200, seed=3)
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    state = app.state.segmint
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin}
    for role in ("viewer", "analyst"):
        tokens[role] = state.tokens.create(f"{role}-user", role)[1]
    uploaded = []
    for name, frame in (("customers", shop.customers), ("orders", shop.orders)):
        path = state.uploads / f"{len(uploaded):032x}" / f"{name}.csv"  # as an upload lands
        path.parent.mkdir(parents=True)
        frame.to_csv(path, index=False)
        uploaded.append(path)
        job = state.jobs.wait(services.start_ingest(state, "setup", path))
        assert job and job["status"] == "done", job
    job = state.jobs.wait(
        services.start_run(state, "setup", [SegmentationSpec(name="rfm", method="rfm")])
    )
    assert job and job["status"] == "done", job
    with TestClient(app) as client:
        yield Server(state, client, tokens, shop.customers, uploaded)
    state.close()


def test_only_admins_may_erase(server: Server) -> None:
    cid = str(server.customers.customer_id.iloc[0])
    for role in ("viewer", "analyst"):
        r = server.post(role, {"customer_id": cid})
        assert r.status_code == 403, r.text
        assert "admin" in r.json()["detail"]
    assert server.holds(cid) > 0


def test_dry_run_then_erase_over_the_api(server: Server) -> None:
    row = server.customers.dropna(subset=["email"]).iloc[3]
    cid, email = str(row.customer_id), str(row.email)
    r = server.post("admin", {"email": email.upper(), "dry_run": True})
    assert r.status_code == 200, r.text
    assert r.json()["rows"]["customers"] == 1 and r.json()["dry_run"] is True
    assert server.holds(cid) > 0

    r = server.post("admin", {"email": email, "reason": "ticket 12"})
    assert r.status_code == 202, r.text
    job = server.state.jobs.wait(r.json()["job_id"])
    assert job and job["status"] == "done", job
    result = job["result"]
    assert result["rows"]["customers"] == 1
    # the server's copies of the files their rows came from are gone
    assert sorted(result["files_deleted"]) == sorted(str(p.resolve()) for p in server.uploaded)
    assert not any(p.exists() for p in server.uploaded)
    assert server.holds(cid) == 0
    # the server answers again on fresh connections, and knows nobody by that e-mail
    headers = {"Authorization": f"Bearer {server.tokens['viewer']}"}
    assert server.client.get("/api/v1/runs", headers=headers).status_code == 200
    r = server.post("admin", {"email": email, "dry_run": True})
    assert r.status_code in (400, 404) and "Nothing was erased" in r.json()["detail"]


def test_erase_page_previews_then_asks_for_confirmation(server: Server) -> None:
    cid = str(server.customers.customer_id.iloc[10])
    c = server.client
    sign_in(c, server.tokens["analyst"])
    assert c.get("/erase").status_code == 403
    c.cookies.clear()
    sign_in(c, server.tokens["admin"])
    page = c.get("/erase")
    assert page.status_code == 200 and "Erase a customer" in page.text
    token = csrf(c)
    r = c.post("/erase/preview", data={"csrf": token, "kind": "customer_id", "value": cid})
    assert r.status_code == 200 and "What would go" in r.text and "cannot be undone" in r.text
    assert server.holds(cid) > 0
    r = c.post("/erase", data={"csrf": token, "kind": "customer_id", "value": cid})
    assert r.status_code == 400 and "Tick the box" in r.text  # no confirmation, nothing erased
    assert server.holds(cid) > 0
    r = c.post(
        "/erase",
        data={"csrf": token, "kind": "customer_id", "value": cid, "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = server.state.jobs.wait(job_id)
    assert job and job["status"] == "done", job
    shown = c.get(f"/jobs/{job_id}")
    assert shown.status_code == 200 and "Erased" in shown.text
    assert server.holds(cid) == 0
    shutil.rmtree(server.state.uploads, ignore_errors=True)


def test_the_servers_own_reads_survive_a_file_rewrite(tmp_path: Path) -> None:
    """A job's status or the token list read from another thread (a test's ``jobs.wait``, the
    CLI) again and again while an erasure closes the server's connections either finishes on the old
    connection or waits for the new one: it never fails half-way ("No open result set")."""
    import threading
    import time

    state = AppState(Settings(workspace=tmp_path / "w.duckdb", schedule_poll_s=0))
    job_id = state.jobs.submit("test", "someone", lambda progress: {"ok": True})
    assert state.jobs.wait(job_id, timeout=30)
    failures: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                assert state.jobs.get(job_id) is not None
                assert len(state.jobs.list()) == 1
                state.tokens.list()
                reads[0] += 1
            except BaseException as exc:  # collected for the assertion
                failures.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        deadline = time.monotonic() + 120.0  # a slow machine only takes longer
        rewrites = 0
        while (rewrites < 100 or reads[0] < 100) and time.monotonic() < deadline and not failures:
            with state.exclusive(wait_s=0):
                time.sleep(0.001)
            rewrites += 1
            time.sleep(0.06)  # longer than a waiting reader's poll: reads get in between
    finally:
        stop.set()
        for t in readers:
            t.join()
        state.close()
    assert not failures, f"{failures[0]!r} after {rewrites} rewrites and {reads[0]} reads"
    assert rewrites >= 100 and reads[0] >= 100
