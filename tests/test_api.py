"""The REST API: every endpoint × no token / viewer / analyst / admin, the whole flow over
HTTP (upload → import job → run job → results → edits → scoring → downloads), jobs, and bad
input. Uses FastAPI's TestClient against a real workspace file."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import segmint
from segmint.api import Settings, create_app, first_admin_token
from segmint.api.auth import ROLES

SEGMENTATIONS = [
    {"name": "rfm", "method": "rfm"},
    {"name": "clusters", "method": "kmeans", "k": 4},
    {"name": "value", "method": "value", "params": {"penalizer": 0.001}},
]


class Api:
    """A server with data, one finished run, and a token per role."""

    def __init__(self, root: Path) -> None:
        self.root = root
        files = segmint.datasets.make_retail(500, seed=4).to_files(root / "data", format="csv")
        self.orders = files["orders"]
        self.app = create_app(Settings(workspace=root / "w.duckdb", max_upload_bytes=3 << 20))
        self.state = self.app.state.segmint
        self.client = TestClient(self.app)
        admin = first_admin_token(self.app)
        assert admin is not None
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = self.state.tokens.create(role, role)[1]
        job = self.upload_and_import(self.orders)
        assert job["status"] == "done", job
        run = self.post("/api/v1/runs", "analyst", json={"segmentations": SEGMENTATIONS})
        assert run.status_code == 202, run.text
        done = self.state.jobs.wait(run.json()["job_id"])
        assert done is not None and done["status"] == "done", done
        self.run_id = done["result"]["run_id"]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None = "viewer", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, role: str | None = "analyst", **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(role), **kw)

    def upload(self, path: Path, role: str = "analyst", name: str | None = None) -> Any:
        with path.open("rb") as fh:
            return self.post(
                "/api/v1/uploads", role, files={"file": (name or path.name, fh, "text/csv")}
            )

    def upload_and_import(self, path: Path, **body: Any) -> dict[str, Any]:
        up = self.upload(path)
        assert up.status_code == 201, up.text
        r = self.post(f"/api/v1/uploads/{up.json()['upload_id']}/import", json=body)
        assert r.status_code == 202, r.text
        job = self.state.jobs.wait(r.json()["job_id"])
        assert job is not None
        return job


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = Api(tmp_path_factory.mktemp("api"))
    with server.client:
        yield server
    server.state.close()


# ------------------------------------------------------------------ the role matrix


def endpoints(api: Api) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, request kwargs, lowest role allowed) for every API endpoint."""
    r, seg = api.run_id, f"/api/v1/runs/{api.run_id}/segmentations"
    label = api.get(f"{seg}/rfm").json()["profiles"]["segments"][0]["label"]
    job = api.state.jobs.list()[0]["job_id"]
    csv = io.BytesIO(api.orders.read_bytes()[:2000].rsplit(b"\n", 1)[0] + b"\n")
    return [
        ("GET", "/api/v1/me", {}, "viewer"),
        ("GET", "/api/v1/tables", {}, "viewer"),
        ("GET", "/api/v1/methods", {}, "viewer"),
        ("GET", "/api/v1/runs", {}, "viewer"),
        (
            "POST",
            "/api/v1/runs",
            {
                "json": {
                    "segmentations": [{"name": "x", "method": "rules", "rules": {"A": "age ="}}]
                }
            },
            "analyst",
        ),
        ("GET", f"{seg}/rfm", {}, "viewer"),
        (
            "PATCH",
            f"{seg}/rfm/segments/{label}",
            {"json": {"targeting": {"channel": "email"}}},
            "analyst",
        ),
        (
            "POST",
            f"{seg}/rfm/assign",
            {"json": {"customers": [{"recency_days": 1, "frequency": 2, "monetary_total": 30}]}},
            "viewer",
        ),
        ("GET", f"{seg}/rfm/members.csv", {}, "analyst"),
        ("GET", f"{seg}/rfm/sizes", {}, "viewer"),
        ("GET", f"{seg}/rfm/members", {"params": {"limit": 5}}, "analyst"),
        ("GET", "/api/v1/customers/nobody", {}, "analyst"),  # a 404
        ("POST", f"{seg}/rfm/export", {"json": {"segments": [label], "to": "csv"}}, "analyst"),
        ("GET", "/api/v1/exports", {}, "viewer"),
        (  # an unknown customer: a 400
            "POST",
            "/api/v1/consent",
            {"json": {"customer_id": "nobody", "channel": "email", "status": "denied"}},
            "analyst",
        ),
        ("GET", "/api/v1/consent/nobody", {}, "analyst"),
        # identity: the shop's orders give customer ids only, and no dedupe has run: 400s
        ("POST", "/api/v1/dedupe", {"json": {"incremental": True}}, "analyst"),
        ("GET", "/api/v1/identity/clusters", {"params": {"linked_only": True}}, "analyst"),
        ("GET", "/api/v1/identity/clusters.csv", {}, "analyst"),
        ("GET", "/api/v1/identity/explain", {"params": {"customer_id": "nobody"}}, "analyst"),
        ("GET", "/api/v1/identity/review", {"params": {"n": 5}}, "analyst"),
        (
            "POST",
            "/api/v1/identity/decisions",
            {"json": {"customer_id_a": "a", "customer_id_b": "b", "decision": "accept"}},
            "analyst",
        ),
        # feedback: a bad number of topics is a 400 before a job
        ("POST", "/api/v1/feedback/analyze", {"json": {"topics": 1}}, "analyst"),
        ("GET", "/api/v1/feedback/topics", {}, "analyst"),
        ("GET", "/api/v1/feedback/texts", {"params": {"limit": 5}}, "analyst"),
        ("GET", "/api/v1/feedback/texts.csv", {}, "analyst"),
        ("GET", "/api/v1/feedback/summary", {"params": {"run_id": r}}, "viewer"),
        ("GET", "/api/v1/needs", {"params": {"rule": "kaiser"}}, "viewer"),
        (
            "POST",
            "/api/v1/experiments",
            {"json": {"name": "matrix", "segmentation": "rfm", "replace": True}},
            "analyst",
        ),
        ("GET", "/api/v1/experiments", {}, "viewer"),
        ("POST", "/api/v1/experiments/analyze", {"json": {"campaign": "none"}}, "viewer"),
        ("GET", "/api/v1/experiments/power", {"params": {"baseline": 0.05, "mde": 0.1}}, "viewer"),
        ("GET", "/api/v1/campaigns", {"params": {"by": "segment"}}, "viewer"),
        ("GET", "/api/v1/monitor", {}, "viewer"),
        ("POST", "/api/v1/schedules", {"json": {"cron": "0 6 * *"}}, "analyst"),  # a 400
        ("GET", "/api/v1/schedules", {}, "viewer"),
        ("DELETE", "/api/v1/schedules/s9999", {}, "analyst"),
        ("GET", "/api/v1/schedules/s9999/runs", {}, "viewer"),
        ("GET", f"{seg}/rfm/segments/{label}/preview", {}, "analyst"),
        ("GET", f"/api/v1/runs/{r}/report", {}, "viewer"),
        (
            "GET",
            "/api/v1/compare",
            {"params": {"run_a": r, "name_a": "rfm", "run_b": r, "name_b": "clusters"}},
            "viewer",
        ),
        ("POST", "/api/v1/uploads", {"files": {"file": ("o.csv", csv, "text/csv")}}, "analyst"),
        ("POST", f"/api/v1/uploads/{'0' * 32}/import", {"json": {}}, "analyst"),
        (  # a refit that is not one of the three: 400 before a job
            "POST",
            "/api/v1/update",
            {"files": {"file": ("o.csv", csv, "text/csv")}, "data": {"refit": "sometimes"}},
            "analyst",
        ),
        ("GET", "/api/v1/jobs", {}, "viewer"),
        ("GET", f"/api/v1/jobs/{job}", {}, "viewer"),
        ("POST", "/api/v1/rules/validate", {"json": {"rules": {"A": "age > 3"}}}, "viewer"),
        ("GET", "/api/v1/tokens", {}, "admin"),
        ("GET", "/api/v1/audit", {"params": {"action": "token"}}, "admin"),
        ("POST", "/api/v1/tokens", {"json": {"name": "new", "role": "viewer"}}, "admin"),
        ("DELETE", "/api/v1/tokens/nonexistent", {}, "admin"),
        (
            "POST",
            "/api/v1/retention/apply",
            {"json": {"retention": {"orders": "30y"}, "dry_run": True}},
            "admin",
        ),
        ("GET", "/api/v1/subject-access", {"params": {"email": "nobody@example.invalid"}}, "admin"),
        (  # nobody found: 400 before anything changes
            "POST",
            "/api/v1/erase",
            {"json": {"email": "nobody@example.invalid", "dry_run": True}},
            "admin",
        ),
        ("POST", "/api/v1/pseudonymize", {"json": {"dry_run": True}}, "admin"),
    ]


def test_every_endpoint_is_in_the_matrix(api):
    """Each (method, path template) of the OpenAPI description is tested exactly once."""
    templates = {
        (method.upper(), path)
        for path, ops in api.app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    }
    covered = set()
    for method, path, _, _ in endpoints(api):
        hits = [
            (m, t)
            for m, t in templates
            if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path)
        ]
        assert len(hits) == 1, (method, path, hits)
        covered.add(hits[0])
    assert covered == templates, sorted(templates - covered)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_role_matrix(api, role):
    for method, path, kwargs, needed in endpoints(api):
        kw = dict(kwargs)
        if "files" in kw:  # a fresh file object per request
            name, fh, kind = kw["files"]["file"]
            fh.seek(0)
            kw["files"] = {"file": (name, io.BytesIO(fh.read()), kind)}
        resp = api.client.request(method, path, headers=api.headers(role), **kw)
        where = f"{method} {path} as {role}"
        if role is None:
            assert resp.status_code == 401, where
            assert resp.headers["www-authenticate"] == "Bearer", where
        elif ROLES.index(role) < ROLES.index(needed):
            assert resp.status_code == 403, where
            assert f"needs the {needed} role" in resp.json()["detail"], where
        else:
            assert resp.status_code not in (401, 403, 500), (where, resp.text)


def test_a_wrong_or_revoked_token_is_401(api):
    assert (
        api.client.get("/api/v1/me", headers={"Authorization": "Bearer sgm_nope"}).status_code
        == 401
    )
    made = api.post("/api/v1/tokens", "admin", json={"name": "temp", "role": "viewer"}).json()
    temp = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get("/api/v1/me", headers=temp).json()["name"] == "temp"
    assert (
        api.client.delete(
            f"/api/v1/tokens/{made['token_id']}", headers=api.headers("admin")
        ).status_code
        == 200
    )
    assert api.client.get("/api/v1/me", headers=temp).status_code == 401
    listed = api.get("/api/v1/tokens", "admin").json()
    assert all("token" not in t and "token_hash" not in t for t in listed)


def test_tokens_are_stored_hashed(api):
    rows = api.state.meta.store.db.cursor().execute("SELECT token_hash FROM api_tokens").fetchall()
    stored = {r[0] for r in rows}
    assert not any(t in stored for t in api.tokens.values())
    assert all(len(h) == 64 for h in stored)


# ------------------------------------------------------------------ the flow


def test_import_result_and_quality_summary(api):
    lines = len(pd.read_csv(api.orders))
    job = [j for j in api.get("/api/v1/jobs").json() if j["kind"] == "ingest"][-1]
    assert job["status"] == "done" and job["result"]["table"] == "orders"
    assert job["result"]["rows"] == lines and job["result"]["quality"]["tables"] >= 1
    tables = {t["name"]: t["rows"] for t in api.get("/api/v1/tables").json()}
    # the import job also cleaned: exact duplicate lines are gone
    assert 0.97 * lines < tables["orders"] <= lines and tables["customers"] > 0


def test_runs_and_segmentation_results(api):
    runs = api.get("/api/v1/runs").json()
    mine = next(r for r in runs if r["run_id"] == api.run_id)
    assert [s["name"] for s in mine["segmentations"]] == ["rfm", "clusters", "value"]
    clusters = api.get(f"/api/v1/runs/{api.run_id}/segmentations/clusters").json()
    assert len(clusters["profiles"]["segments"]) == 4
    assert sum(s["size"] for s in clusters["profiles"]["segments"]) == clusters["n_customers"]
    assert clusters["ranking"]["segments"][0]["rank"] == 1
    missing = api.get(f"/api/v1/runs/{api.run_id}/segmentations/nope")
    assert missing.status_code == 404 and "no segmentation named 'nope'" in missing.json()["detail"]


def test_rename_and_plan_edit_persist(api):
    seg = f"/api/v1/runs/{api.run_id}/segmentations/clusters"
    label = api.get(seg).json()["profiles"]["segments"][1]["label"]
    r = api.client.patch(
        f"{seg}/segments/{label}",
        json={"name": "Weekend bargain hunters", "targeting": {"goal": "grow", "offer": "2 for 1"}},
        headers=api.headers("analyst"),
    )
    assert r.status_code == 200, r.text
    after = api.get(seg).json()
    names = {s["label"]: s["name"] for s in after["profiles"]["segments"]}
    assert names[label] == "Weekend bargain hunters"
    assert after["targeting"][label]["offer"] == "2 for 1" and after["targeting"][label]["edited"]
    csv = api.get(f"{seg}/members.csv", "analyst", params={"segment": label})
    frame = pd.read_csv(io.StringIO(csv.text))
    assert set(frame["segment_name"]) == {"Weekend bargain hunters"}
    taken = next(n for lab, n in names.items() if lab != label)
    clash = api.client.patch(
        f"{seg}/segments/{label}", json={"name": taken}, headers=api.headers("analyst")
    )
    assert clash.status_code == 400 and "already called" in clash.json()["problem"]


def test_scoring_agrees_with_the_stored_assignments(api):
    seg = f"/api/v1/runs/{api.run_id}/segmentations/clusters"
    with segmint.Workspace(api.root / "w.duckdb", read_only=False) as ws:
        features = ws.table("customer_features").to_pandas().set_index("customer_id")
    members = pd.read_csv(io.StringIO(api.get(f"{seg}/members.csv", "analyst").text))
    sample = members.sample(40, random_state=0)
    cols = api.get(seg).json()["features"]
    body = [
        {"customer_id": cid, **{c: _plain(features.loc[cid, c]) for c in cols}}
        for cid in sample["customer_id"]
    ]
    r = api.post(f"{seg}/assign", "viewer", json={"customers": body})
    assert r.status_code == 200, r.text
    got = {row["customer_id"]: row["segment"] for row in r.json()}
    assert got == dict(zip(sample["customer_id"], sample["segment"].astype(str), strict=True))
    bad = api.post(f"{seg}/assign", "viewer", json={"customers": [{"frequency": 1}]})
    assert bad.status_code == 400 and "needs the feature(s)" in bad.json()["problem"]


def _plain(v: Any) -> Any:
    return None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)


def test_value_scoring_takes_a_purchase_summary(api):
    r = api.post(
        f"/api/v1/runs/{api.run_id}/segmentations/value/assign",
        "viewer",
        json={
            "customers": [
                {
                    "customer_id": "n1",
                    "frequency": 30,
                    "recency": 100.0,
                    "T": 101.0,
                    "monetary_value": 400.0,
                },
                {
                    "customer_id": "n2",
                    "frequency": 0,
                    "recency": 0.0,
                    "T": 90.0,
                    "monetary_value": 0.0,
                },
            ]
        },
    )
    assert r.status_code == 200, r.text
    seg = {row["customer_id"]: row["segment"] for row in r.json()}
    assert seg["n1"] in ("Top 1%", "Top 10%") and seg["n2"] in ("Low", "Middle")


def test_report_download_and_compare(api):
    r = api.get(f"/api/v1/runs/{api.run_id}/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"]
    assert "connect-src" not in r.headers["content-security-policy"]
    assert "<html" in r.text and "Value model" in r.text
    for bad in ("../../etc/passwd", "..%2F..%2Fw.duckdb", "0001-ingest"):
        assert api.get(f"/api/v1/runs/{bad}/report").status_code == 404
    cmp = api.get(
        "/api/v1/compare",
        params={"run_a": api.run_id, "name_a": "rfm", "run_b": api.run_id, "name_b": "clusters"},
    ).json()
    assert sum(map(sum, cmp["counts"])) == cmp["customers"] == 500


def test_rules_validation_points_at_the_token(api):
    r = api.post(
        "/api/v1/rules/validate",
        "viewer",
        json={"rules": {"Young": "age between 20 and", "Ok": "age > 3"}},
    ).json()
    assert not r["ok"] and [e["rule"] for e in r["errors"]] == ["Young"]
    assert "^" in r["errors"][0]["message"]
    # names are checked against the workspace's feature columns, as the web form's check does
    typo = api.post(
        "/api/v1/rules/validate", "viewer", json={"rules": {"VIP": "monetary_totl > 2000"}}
    ).json()
    assert not typo["ok"] and "Did you mean 'monetary_total'?" in typo["errors"][0]["message"]


# ------------------------------------------------------------------ jobs and concurrency


def test_two_runs_started_at_once_both_finish(api):
    results: list[Any] = []

    def start() -> None:
        results.append(
            api.post("/api/v1/runs", json={"segmentations": [{"name": "rfm", "method": "rfm"}]})
        )

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r.json()["job_id"] for r in results]
    assert all(r.status_code == 202 for r in results)
    done = [api.state.jobs.wait(i) for i in ids]
    assert [d["status"] for d in done] == ["done", "done"], done
    assert len({d["result"]["run_id"] for d in done}) == 2
    # reads kept working: the runs list shows both
    listed = {r["run_id"] for r in api.get("/api/v1/runs").json()}
    assert {d["result"]["run_id"] for d in done} <= listed


def test_a_failed_job_says_why_and_leaves_the_workspace_consistent(api, tmp_path):
    before = {t["name"]: t["rows"] for t in api.get("/api/v1/tables").json()}
    odd = tmp_path / "odd.csv"
    odd.write_text("order_id,customer_id,ordered_at,amount\nA,C1,not a date,5\nB,C2,never,7\n")
    job = api.upload_and_import(odd, table="orders")
    assert job["status"] == "failed"
    assert "QualityGateError" not in job["error"] and "ordered_at" in job["error"]
    after = {t["name"]: t["rows"] for t in api.get("/api/v1/tables").json()}
    assert after["orders"] == before["orders"]


def test_a_run_with_a_bad_rule_is_refused_before_queueing(api):
    r = api.post(
        "/api/v1/runs",
        json={"segmentations": [{"name": "x", "method": "rules", "rules": {"A": "age >"}}]},
    )
    assert r.status_code == 400 and "^" in r.json()["problem"]


def test_a_field_the_method_does_not_read_is_refused_before_queueing(api):
    r = api.post(
        "/api/v1/runs",
        json={"segmentations": [{"name": "kp", "method": "kprototypes", "min_segment_share": 0.1}]},
    )
    assert r.status_code == 400
    assert "does not use min_segment_share" in r.json()["problem"]
    methods = {m["name"]: m for m in api.get("/api/v1/methods").json()}
    assert "min_segment_share" not in methods["kprototypes"]["fields"]


def test_unknown_job_is_404(api):
    assert api.get("/api/v1/jobs/nope").status_code == 404


# ------------------------------------------------------------------ uploads


def test_upload_refuses_binary_garbage_and_databases(api, tmp_path):
    junk = tmp_path / "photo.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    r = api.upload(junk)
    assert r.status_code == 400 and r.json()["error"] == "UnreadableFileError"
    db = tmp_path / "shop.csv"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    r = api.upload(db)
    assert r.status_code == 400 and "not an export file" in r.json()["problem"]


def test_upload_over_the_size_limit_is_refused_and_not_kept(api, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"customer_id,amount\n" + b"C1,1.00\n" * (500_000))
    before = set(api.state.uploads.iterdir())
    r = api.upload(big)
    assert r.status_code == 413 and "upload limit (3 MB)" in r.json()["problem"]
    assert set(api.state.uploads.iterdir()) == before


def test_upload_names_cannot_escape_the_uploads_folder(api, tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(api.orders.read_bytes()[:3000].rsplit(b"\n", 1)[0] + b"\n")
    r = api.upload(f, name="../../../../tmp/evil.csv")
    assert r.status_code == 201 and r.json()["filename"] == "evil.csv"
    folder = api.state.uploads / r.json()["upload_id"]
    assert (folder / "evil.csv").exists()
    for bad in ("..", "../w.duckdb", "ZZ" * 16):
        resp = api.post(f"/api/v1/uploads/{bad}/import", json={})
        assert resp.status_code == 404, bad


def test_mapping_problem_is_reported_and_an_explicit_mapping_fixes_it(api, tmp_path):
    odd = tmp_path / "odd.csv"
    frame = pd.read_csv(api.orders).head(50).rename(columns={"customer_id": "Kundennummer XY"})
    frame.to_csv(odd, index=False)
    preview = api.upload(odd).json()
    assert preview["table"] in (None, "orders")
    job = api.upload_and_import(odd, table="orders", mapping={"customer_id": "Kundennummer XY"})
    assert job["status"] == "done", job
    assert job["result"]["mapped"]["customer_id"] == "Kundennummer XY"


def test_validation_errors_are_422_with_a_readable_detail(api):
    r = api.post("/api/v1/tokens", "admin", json={"name": "x", "role": "boss"})
    assert r.status_code == 422 and "role" in r.json()["detail"]


def test_security_headers_on_every_response(api):
    for resp in (api.get("/api/v1/me"), api.client.get("/api/v1/me")):
        h = resp.headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["cache-control"] == "no-store"


def test_editing_a_missing_segment_is_404_even_with_nothing_to_change(api):
    seg = f"/api/v1/runs/{api.run_id}/segmentations/clusters/segments/no-such-label"
    assert api.client.patch(seg, json={}, headers=api.headers("analyst")).status_code == 404


# ------------------------------------------------------------------ the commands


def test_token_command_creates_a_working_token(tmp_path):
    from typer.testing import CliRunner

    from segmint.api.auth import TokenStore
    from segmint.cli import app as cli

    ws = tmp_path / "w.duckdb"
    r = CliRunner().invoke(cli, ["token", "maria", "--role", "analyst", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    secret = next(w for w in r.output.split() if w.startswith("sgm_"))
    with segmint.Workspace(ws) as w:
        found = TokenStore(w.store.db, threading.Lock()).verify(secret)
    assert found is not None and (found.name, found.role) == ("maria", "analyst")
    bad = CliRunner().invoke(cli, ["token", "x", "--role", "boss", "-w", str(ws)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_serve_starts_the_server_and_prints_the_first_admin_token(tmp_path):
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "segmint"
    proc = subprocess.Popen(
        [str(exe), "serve", "-w", str(tmp_path / "s.duckdb"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token, lines = None, []
        deadline = time.monotonic() + 60
        while token is None and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            token = next((w for w in line.split() if w.startswith("sgm_")), None)
        assert token, "".join(lines)
        url = f"http://127.0.0.1:{port}/api/v1/me"
        for _ in range(100):
            try:
                resp = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert resp.json()["role"] == "admin"
        assert httpx.get(url).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_crashing_job_is_marked_failed_and_the_worker_goes_on(tmp_path):
    import duckdb

    from segmint.api.jobs import JobRunner

    db = duckdb.connect(str(tmp_path / "jobs.duckdb"))
    runner = JobRunner(db, threading.Lock())

    def boom(progress: Any) -> dict[str, Any]:
        progress("Halfway")
        raise RuntimeError("boom")

    crashed = runner.wait(runner.submit("run", "ana", boom))
    fine = runner.wait(runner.submit("run", "ana", lambda progress: {"ok": True}))
    assert (
        crashed["status"] == "failed" and crashed["error"] == "Internal error: RuntimeError: boom"
    )
    assert fine["status"] == "done" and fine["result"] == {"ok": True}
    # a job still queued when the server stops is failed (with the reason) on the next start
    gate = threading.Event()
    blocking = runner.submit("run", "ana", lambda progress: gate.wait(5) and {})
    waiting = runner.submit("run", "ana", lambda progress: {})
    while runner.get(blocking)["status"] != "running":
        time.sleep(0.01)
    runner2 = JobRunner(db, threading.Lock())
    stale = runner2.get(waiting)
    assert stale["status"] == "failed" and "server stopped" in stale["error"]
    gate.set()
    runner.stop()
    runner2.stop()
