"""The audit log of the server: every REST route and every web form that changes data writes a
row naming the token and the client's address (a new route without one fails here); sign-in
success and failure; jobs act as the request that queued them; the log is for admins."""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from segmint.api import Settings, create_app, first_admin_token, services
from segmint.datasets import make_retail
from segmint.privacy.reports import report_paths
from segmint.spec.model import SegmentationSpec
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
#: routes that take a body but change nothing: checks and computations
READ_ONLY = {
    ("POST", "/api/v1/runs/{run_id}/segmentations/{name}/assign"),  # scoring
    ("POST", "/api/v1/rules/validate"),
    ("POST", "/api/v1/experiments/analyze"),
    ("POST", "/web/api/rules/validate"),
    ("POST", "/erase/preview"),  # the erase page's dry run
}
API_ADDRESS = ("203.0.113.7", 40001)
WEB_ADDRESS = ("198.51.100.4", 40002)


@dataclass
class Server:
    app: FastAPI
    root: Path
    tokens: dict[str, str]
    run_id: str
    label: str

    def customer(self, i: int) -> str:
        """A customer id of the shop (each privacy call takes its own)."""
        rows = (
            self.state.workspace()
            .store.db.execute("SELECT DISTINCT customer_id FROM orders ORDER BY 1 LIMIT 10")
            .fetchall()
        )
        return str(rows[i * 3][0])

    def pair(self, i: int) -> tuple[str, str]:
        """Two customer ids no privacy call takes (a reviewer's decision joins them)."""
        rows = (
            self.state.workspace()
            .store.db.execute("SELECT DISTINCT customer_id FROM orders ORDER BY 1 LIMIT 10")
            .fetchall()
        )
        return str(rows[1 + 3 * i][0]), str(rows[2 + 3 * i][0])

    @property
    def state(self) -> Any:
        return self.app.state.segmint

    def log(self) -> list[dict[str, Any]]:
        return list(self.state.workspace().audit())

    def new_orders(self, prefix: str) -> Path:
        """Order lines of the sample shop under new order ids: a file not imported before."""
        rows = list(csv.reader((self.root / "data" / "orders.csv").read_text().splitlines()))
        path = self.root / f"{prefix.lower()}_orders.csv"
        with path.open("w", newline="") as out:
            csv.writer(out).writerows([rows[0], *([prefix + r[0], *r[1:]] for r in rows[1:80])])
        return path


def mutating_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route that may change data, included routers too."""

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(list(inner.routes))

    return {(m, r.path) for r in walk(list(app.routes)) for m in r.methods & CHANGES}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("audit-server")
    make_retail(200, seed=5).to_files(root / "data", format="csv")
    app = create_app(Settings(workspace=root / "shop.duckdb", schedule_poll_s=0))
    state = app.state.segmint
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin}
    tokens["api-analyst"] = state.tokens.create("api-analyst", "analyst")[1]
    tokens["web-admin"] = state.tokens.create("web-admin", "admin")[1]
    tokens["viewer"] = state.tokens.create("viewer", "viewer")[1]
    # the customers' names and e-mails: for dedupe; the feedback texts: to analyse
    for name in ("customers", "orders", "feedback"):
        path = root / "data" / f"{name}.csv"
        job = state.jobs.wait(services.start_ingest(state, "setup", path, into=name))
        assert job and job["status"] == "done", job
    job = state.jobs.wait(
        services.start_run(state, "setup", [SegmentationSpec(name="rfm", method="rfm")])
    )
    assert job and job["status"] == "done", job
    run_id = job["result"]["run_id"]
    result = services.get_segmentation(state.workspace(), run_id, "rfm")
    label = max(result.profiles.segments, key=lambda s: s.size).label
    with TestClient(app):  # the lifespan: the job worker stops at the end
        yield Server(app, root, tokens, run_id, label)


def changes(server: Server, call: Callable[[], Any]) -> tuple[Any, list[dict[str, Any]]]:
    """Make the call, wait for the jobs it queued; its response and the rows it added."""
    before = len(server.log())
    response = call()
    for job in server.state.jobs.list():
        server.state.jobs.wait(job["job_id"])
    added = server.log()
    return response, added[: len(added) - before]


def check_rows(rows: list[dict[str, Any]], action: str, actor: str, address: str, where: str):
    assert action in {r["action"] for r in rows}, (where, rows)
    for r in rows:
        assert (r["actor"], r["origin"]) == (actor, address), (where, r)


# -- the REST API ------------------------------------------------------------------------------


def api_calls(server: Server, client: TestClient) -> list[tuple[str, str, Callable[[], Any], str]]:
    """(method, template, call, action written) for every REST route that changes data, in an
    order where each finds what it needs (an upload before its import, a schedule to remove)."""
    auth = {"Authorization": f"Bearer {server.tokens['api-analyst']}"}
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    seg = f"/api/v1/runs/{server.run_id}/segmentations/rfm"
    made: dict[str, str] = {}

    def upload() -> Any:
        path = server.new_orders("N")
        r = client.post(
            "/api/v1/uploads", headers=auth, files={"file": (path.name, path.read_bytes())}
        )
        made["upload"] = r.json()["upload_id"]
        return r

    def schedule() -> Any:
        r = client.post("/api/v1/schedules", headers=auth, json={"cron": "0 6 * * 1"})
        made["schedule"] = r.json()["schedule_id"]
        return r

    def token() -> Any:
        r = client.post("/api/v1/tokens", headers=admin, json={"name": "temp", "role": "viewer"})
        made["token"] = r.json()["token_id"]
        return r

    def update() -> Any:
        path = server.new_orders("U")
        files = {"file": (path.name, path.read_bytes())}
        return client.post("/api/v1/update", headers=auth, files=files, data={"refit": "never"})

    return [
        ("POST", "/api/v1/uploads", upload, "upload"),
        ("POST", "/api/v1/uploads/{upload_id}/import",
         lambda: client.post(f"/api/v1/uploads/{made['upload']}/import", headers=auth, json={}),
         "ingest"),
        ("POST", "/api/v1/runs",
         lambda: client.post("/api/v1/runs", headers=auth,
                             json={"segmentations": [{"name": "rfm2", "method": "rfm"}]}),
         "run"),
        ("PATCH", "/api/v1/runs/{run_id}/segmentations/{name}/segments/{label}",
         lambda: client.patch(f"{seg}/segments/{server.label}", headers=auth,
                              json={"name": "Renamed by API", "targeting": {"channel": "email"}}),
         "segment.rename"),
        ("POST", "/api/v1/runs/{run_id}/segmentations/{name}/export",
         lambda: client.post(f"{seg}/export", headers=auth,
                             json={"segments": [server.label], "to": "csv"}),
         "export"),
        ("POST", "/api/v1/experiments",
         lambda: client.post("/api/v1/experiments", headers=auth,
                             json={"name": "api-test", "segmentation": "rfm"}),
         "experiment.design"),
        ("POST", "/api/v1/schedules", schedule, "schedule.add"),
        ("DELETE", "/api/v1/schedules/{schedule_id}",
         lambda: client.delete(f"/api/v1/schedules/{made['schedule']}", headers=auth),
         "schedule.remove"),
        ("POST", "/api/v1/update", update, "update"),
        ("POST", "/api/v1/tokens", token, "token.create"),
        ("DELETE", "/api/v1/tokens/{token_id}",
         lambda: client.delete(f"/api/v1/tokens/{made['token']}", headers=admin),
         "token.revoke"),
        ("POST", "/api/v1/consent",
         lambda: client.post("/api/v1/consent", headers=auth,
                             json={"customer_id": server.customer(3), "channel": "email",
                                   "status": "denied"}),
         "consent.set"),
        ("POST", "/api/v1/dedupe",
         lambda: client.post("/api/v1/dedupe", headers=auth, json={}), "dedupe"),
        ("POST", "/api/v1/feedback/analyze",
         lambda: client.post("/api/v1/feedback/analyze", headers=auth, json={"topics": 3}),
         "feedback.analyze"),
        ("POST", "/api/v1/identity/decisions",
         lambda: client.post("/api/v1/identity/decisions", headers=auth,
                             json={"customer_id_a": server.pair(0)[0],
                                   "customer_id_b": server.pair(0)[1], "decision": "reject"}),
         "identity_decision"),
        ("POST", "/api/v1/retention/apply",
         lambda: client.post("/api/v1/retention/apply", headers=admin,
                             json={"retention": {"orders": "30y"}}),
         "retention.apply"),
        ("POST", "/api/v1/erase",
         lambda: client.post("/api/v1/erase", headers=admin,
                             json={"customer_id": server.customer(0), "reason": "api test"}),
         "erase"),
        ("POST", "/api/v1/pseudonymize",  # last: later runs write pseudonyms
         lambda: client.post("/api/v1/pseudonymize", headers=admin, json={}),
         "pseudonymize"),
    ]  # fmt: skip


def test_every_rest_route_that_changes_data_writes_an_audit_row(server: Server) -> None:
    client = TestClient(server.app, client=API_ADDRESS)
    calls = api_calls(server, client)
    api_routes = {r for r in mutating_routes(server.app) if r[1].startswith("/api/")}
    assert {(m, t) for m, t, _, _ in calls} | (READ_ONLY & api_routes) == api_routes
    for method, template, call, action in calls:
        response, rows = changes(server, call)
        where = f"{method} {template}"
        assert response.status_code < 300, (where, response.text[:300])
        admin_only = ("tokens", "retention", "erase", "pseudonymize")
        who = "admin" if any(a in template for a in admin_only) else "api-analyst"
        check_rows(rows, action, who, API_ADDRESS[0], where)
    failed = [j for j in server.state.jobs.list() if j["status"] != "done"]
    assert failed == []


def test_server_reports_are_logged_where_they_end_up(server: Server) -> None:
    """A run's report is written to a scratch folder and renamed under the run's id: the
    report-file log follows it."""
    logged = {Path(p) for p, _, _ in report_paths(server.state.workspace().store.db)}
    reports = server.state.reports.resolve()
    assert (reports / server.run_id / "report.html") in logged
    assert (reports / server.run_id / "report.json") in logged
    assert all(p.exists() and not p.parent.name.startswith("tmp-") for p in logged), logged


def test_jobs_act_as_the_request_that_queued_them(server: Server) -> None:
    client = TestClient(server.app, client=API_ADDRESS)
    auth = {"Authorization": f"Bearer {server.tokens['api-analyst']}"}
    _, rows = changes(
        server,
        lambda: client.post("/api/v1/runs", headers=auth,
                            json={"segmentations": [{"name": "rfm3", "method": "rfm"}]}),
    )  # fmt: skip
    # the worker thread wrote them: the run's clean, features and segments
    assert {"features", "run"} <= {r["action"] for r in rows}
    assert {(r["actor"], r["origin"]) for r in rows} == {("api-analyst", API_ADDRESS[0])}


def test_the_audit_log_is_for_admins(server: Server) -> None:
    client = TestClient(server.app)
    for role in ("viewer", "api-analyst"):
        r = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {server.tokens[role]}"})
        assert r.status_code == 403 and "needs the admin role" in r.json()["detail"]
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    everything = client.get("/api/v1/audit", headers=admin).json()
    assert everything and {"logged_at", "actor", "origin", "action", "target"} <= set(everything[0])
    ingests = client.get("/api/v1/audit", headers=admin, params={"action": "ingest"}).json()
    assert ingests and {e["action"] for e in ingests} == {"ingest"}
    later = client.get("/api/v1/audit", headers=admin, params={"since": "2999-01-01"}).json()
    assert later == []
    bad = client.get("/api/v1/audit", headers=admin, params={"since": "soon"})
    assert bad.status_code == 400 and "is not a date" in bad.json()["detail"]


# -- the web app -------------------------------------------------------------------------------


def selections(page: str) -> dict[str, str]:
    """The mapping screen's preselected choices, as its form would post them."""
    out = {}
    for name, body in re.findall(
        r'<select id="map-[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = html.unescape(chosen.group(1)) if chosen else ""
    return out


def web_calls(server: Server, client: TestClient) -> list[tuple[str, str, Callable[[], Any], str]]:
    """(method, template, call, action written) for every web form that changes data."""
    run = server.run_id
    made: dict[str, str] = {}

    def token() -> str:
        return csrf_of(client.get("/").text)

    def post(path: str, **data: str) -> Any:
        return client.post(path, data={"csrf": token(), **data}, follow_redirects=False)

    def card(**data: str) -> dict[str, str]:
        return {"s": "rfm", "label": server.label, **data}

    def upload() -> Any:
        path = server.new_orders("W")
        r = client.post("/upload", data={"csrf": token()}, follow_redirects=False,
                        files={"file": (path.name, path.read_bytes())})  # fmt: skip
        made["upload"] = r.headers["location"].rsplit("/", 1)[1]
        return r

    def import_() -> Any:
        page = client.get(f"/upload/{made['upload']}").text
        return post(f"/upload/{made['upload']}/import", table="orders", **selections(page))

    def schedule() -> Any:
        r = post("/schedules", cron="30 5 * * *", spec="")
        made["schedule"] = server.state.workspace().schedules()[-1].schedule_id
        return r

    def new_token() -> Any:
        r = post("/tokens", name="web-temp", role="viewer")
        made["token"] = next(
            t["token_id"] for t in server.state.tokens.list() if t["name"] == "web-temp"
        )
        return r

    def update() -> Any:
        path = server.new_orders("V")
        files = {"file": (path.name, path.read_bytes())}
        form = {"csrf": token(), "refit": "never"}
        return client.post("/update", data=form, files=files, follow_redirects=False)

    return [
        ("POST", "/upload", upload, "upload"),
        ("POST", "/upload/{upload_id}/import", import_, "ingest"),
        ("POST", "/runs/new",
         lambda: post("/runs/new", rules_on="on", rules="Frequent: frequency >= 2"), "run"),
        ("POST", "/runs/{run_id}/rename",
         lambda: post(f"/runs/{run}/rename", **card(name="Renamed on the web")), "segment.rename"),
        ("POST", "/runs/{run_id}/plan",
         lambda: post(f"/runs/{run}/plan", **card(goal="retain")), "segment.plan"),
        ("POST", "/runs/{run_id}/export", lambda: post(f"/runs/{run}/export", **card(to="csv")),
         "export"),
        ("POST", "/experiments",
         lambda: post("/experiments", name="web-test", segmentation="rfm"), "experiment.design"),
        ("POST", "/schedules", schedule, "schedule.add"),
        ("POST", "/schedules/{schedule_id}/remove",
         lambda: post(f"/schedules/{made['schedule']}/remove"), "schedule.remove"),
        ("POST", "/update", update, "update"),
        ("POST", "/tokens", new_token, "token.create"),
        ("POST", "/tokens/{token_id}/revoke", lambda: post(f"/tokens/{made['token']}/revoke"),
         "token.revoke"),
        ("POST", "/consent",
         lambda: post("/consent", customer=server.customer(3), channel="sms", status="granted"),
         "consent.set"),
        ("POST", "/persons/dedupe", lambda: post("/persons/dedupe"), "dedupe"),
        ("POST", "/feedback/analyze", lambda: post("/feedback/analyze", topics="3"),
         "feedback.analyze"),
        ("POST", "/persons/decide",
         lambda: post("/persons/decide", a=server.pair(1)[0], b=server.pair(1)[1],
                      decision="accept"),
         "identity_decision"),
        ("POST", "/retention", lambda: post("/retention", spec="retention:\n  orders: 30y\n", action="apply"),
         "retention.apply"),
        ("POST", "/subject-access",
         lambda: post("/subject-access", kind="customer_id", value=server.customer(1)),
         "subject_access"),
        ("POST", "/erase",
         lambda: post("/erase", kind="customer_id", value=server.customer(2), confirm="yes"),
         "erase"),
        ("POST", "/privacy/pseudonymize", lambda: post("/privacy/pseudonymize"),
         "pseudonymize"),
        ("POST", "/signout", lambda: post("/signout"), "signout"),
    ]  # fmt: skip


def test_every_web_form_that_changes_data_writes_an_audit_row(server: Server) -> None:
    client = TestClient(server.app, client=WEB_ADDRESS)
    _, rows = changes(server, lambda: sign_in(client, server.tokens["web-admin"]))
    check_rows(rows, "signin", "web-admin", WEB_ADDRESS[0], "POST /signin")
    calls = web_calls(server, client)
    web_routes = {r for r in mutating_routes(server.app) if not r[1].startswith("/api/")}
    covered = {(m, t) for m, t, _, _ in calls} | {("POST", "/signin")}
    assert covered | (READ_ONLY & web_routes) == web_routes
    for method, template, call, action in calls:
        response, rows = changes(server, call)
        where = f"{method} {template}"
        assert response.status_code in (200, 303), (where, response.text[:400])
        check_rows(rows, action, "web-admin", WEB_ADDRESS[0], where)
    failed = [j for j in server.state.jobs.list() if j["status"] != "done"]
    assert failed == []


def test_a_failed_sign_in_is_logged_without_what_was_typed(server: Server) -> None:
    client = TestClient(server.app, client=WEB_ADDRESS)
    typed = "sgm_" + "mistyped" * 5
    response, rows = changes(server, lambda: sign_in(client, typed))
    assert response.status_code == 401
    assert [(r["action"], r["origin"]) for r in rows] == [("signin.failed", WEB_ADDRESS[0])]
    text = repr(server.state.workspace().store.db.execute("SELECT * FROM audit_log").fetchall())
    assert "mistyped" not in text
    assert all(t not in text for t in server.tokens.values())  # no token ever
