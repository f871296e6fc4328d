"""``segmint serve --engine spark``: the REST API and the web app on a Spark workspace.

The same spec is run on the embedded engine and on Spark (the shared local[2] session) from
the same Parquet files, and each workspace is served by a real app: what the Spark server
answers (runs, results, segment sizes, every page of the members, the member CSV, one
customer, scoring by id) equals what the embedded server answers; every route that needs the
embedded engine answers 409 with the command to use instead, never a 5xx; the results page of
the Spark run renders its segments in Chromium; the CLI refuses a missing workspace.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.api import Settings, create_app, first_admin_token
from segmint.api.engine import ON_SPARK
from segmint.cli import app as cli
from segmint.datasets import make_retail
from segmint.spec.model import Spec

SEGMENTATIONS = [
    {"name": "rules", "method": "rules",
     "rules": {"Big spenders": "monetary_total > 300", "Recent": "recency_days <= 60"}},
    {"name": "rfm", "method": "rfm"},
    {"name": "clusters", "method": "kmeans", "k": 3},
]  # fmt: skip
NAMES = [s["name"] for s in SEGMENTATIONS]


class Served:
    """A served workspace: its client, a token per role, its one segment run."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = TestClient(app)
        admin = first_admin_token(app)
        assert admin is not None
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = app.state.segmint.tokens.create(role, role)[1]
        runs = self.get("/api/v1/runs").json()
        assert len(runs) == 1, runs
        self.run_id = runs[0]["run_id"]

    def get(self, path: str, role: str = "analyst", **kw: Any) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)

    def call(self, method: str, path: str, role: str = "analyst", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, headers=headers, **kw)

    def ok(self, path: str, role: str = "analyst", **kw: Any) -> Any:
        r = self.get(path, role, **kw)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r

    def seg(self, name: str, tail: str = "") -> str:
        return f"/api/v1/runs/{self.run_id}/segmentations/{name}{tail}"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[tuple[Served, Served]]:
    """(the embedded server, the Spark server), each on the same spec run from the same files."""
    tmp = tmp_path_factory.mktemp("serve-spark")
    files = make_retail(200, seed=11).to_files(tmp / "data", "parquet")
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders", "events")]
    spec = Spec.model_validate({"sources": sources, "segmentations": SEGMENTATIONS})
    duck = segmint.Workspace(tmp / "duck.duckdb")
    run_pipeline(duck, spec, out_dir=tmp / "report-duckdb")
    duck.close()
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    ews.run(spec, out_dir=tmp / "report-spark")
    embedded = Served(create_app(Settings(workspace=tmp / "duck.duckdb", schedule_poll_s=0)))
    on_spark = Served(create_app(Settings.on_engine(ews, schedule_poll_s=0)))
    with embedded.client, on_spark.client:
        yield embedded, on_spark
    ews.close()


# -- what works on Spark equals the embedded answer ----------------------------------------------


@pytest.mark.spark
def test_runs_and_results_equal(both: tuple[Served, Served]) -> None:
    duck, spark = both
    a, b = duck.ok("/api/v1/runs").json()[0], spark.ok("/api/v1/runs").json()[0]
    assert a["segmentations"] == b["segmentations"]
    assert [s["name"] for s in b["segmentations"]] == NAMES
    for name in NAMES:
        x, y = duck.ok(duck.seg(name)).json(), spark.ok(spark.seg(name)).json()
        assert x["n_customers"] == y["n_customers"] == 200
        sizes = [(s["label"], s["name"], s["size"]) for s in x["profiles"]["segments"]]
        assert sizes == [(s["label"], s["name"], s["size"]) for s in y["profiles"]["segments"]]


@pytest.mark.spark
def test_segment_sizes_counted_in_spark_equal_embedded(both: tuple[Served, Served]) -> None:
    duck, spark = both
    for name in NAMES:
        x = duck.ok(duck.seg(name, "/sizes"), "viewer").json()
        y = spark.ok(spark.seg(name, "/sizes"), "viewer").json()
        assert x["segments"] == y["segments"], name
        assert y["customers"] == 200
        result = spark.ok(spark.seg(name)).json()["profiles"]["segments"]
        assert [(s["segment"], s["customers"]) for s in y["segments"]] == [
            (s["label"], s["size"]) for s in result
        ]
    assert spark.get(spark.seg("nope", "/sizes")).status_code == 404


def _all_pages(served: Served, name: str, limit: int, segment: str | None = None) -> list[Any]:
    rows: list[Any] = []
    after: str | None = None
    while True:
        params = {"limit": limit, **({"after": after} if after else {})}
        if segment is not None:
            params["segment"] = segment
        page = served.ok(served.seg(name, "/members"), params=params).json()
        assert len(page["members"]) <= limit
        rows += page["members"]
        after = page["next"]
        if after is None:
            return rows


@pytest.mark.spark
def test_members_paged_in_spark_are_the_embedded_members(both: tuple[Served, Served]) -> None:
    duck, spark = both
    for name in ("rfm", "clusters"):
        paged = _all_pages(spark, name, 64)
        ids = [r["customer_id"] for r in paged]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) == 200
        assert paged == _all_pages(duck, name, 64)
        # the member CSV the user downloads: byte for byte the embedded file
        x = duck.ok(duck.seg(name, "/members.csv")).text
        y = spark.ok(spark.seg(name, "/members.csv")).text
        assert x == y and len(y.splitlines()) == 201
    first = spark.ok(spark.seg("clusters", "/sizes")).json()["segments"][0]
    one = _all_pages(spark, "clusters", 50, segment=first["segment"])
    assert len(one) == first["customers"] and {r["segment"] for r in one} == {first["segment"]}
    assert spark.get(spark.seg("clusters", "/members"), "viewer").status_code == 403


@pytest.mark.spark
def test_one_customer_and_scoring_by_id_equal_embedded(both: tuple[Served, Served]) -> None:
    duck, spark = both
    ids = [r["customer_id"] for r in _all_pages(spark, "clusters", 1000)[::40]]
    for cid in ids:
        x, y = (
            duck.ok(f"/api/v1/customers/{cid}").json(),
            spark.ok(f"/api/v1/customers/{cid}").json(),
        )
        assert x["features"].keys() == y["features"].keys()
        for key, value in x["features"].items():
            other = y["features"][key]
            if isinstance(value, float) or isinstance(other, float):
                assert np.isclose(value, other, rtol=0, atol=1e-9), (cid, key)
            else:
                assert value == other, (cid, key)

        def segs(c: dict[str, Any]) -> list[tuple[str, str, str]]:
            return [(s["segmentation"], s["segment"], s["segment_name"]) for s in c["segments"]]

        assert segs(x) == segs(y) and len(segs(y)) == len(NAMES)
    body = {"customers": [{"customer_id": cid} for cid in ids]}
    scored = spark.call("POST", spark.seg("clusters", "/assign"), "viewer", json=body)
    assert scored.status_code == 200, scored.text
    expect = duck.call("POST", duck.seg("clusters", "/assign"), "viewer", json=body).json()
    assert scored.json() == expect
    # the model scores each stored customer into the segment the engine assigned
    assigned = {
        cid: next(s["segment"] for s in spark.ok(f"/api/v1/customers/{cid}").json()["segments"]
                  if s["segmentation"] == "clusters")
        for cid in ids
    }  # fmt: skip
    assert {s["customer_id"]: s["segment"] for s in scored.json()} == assigned
    assert spark.get("/api/v1/customers/nobody-here").status_code == 404
    unknown = spark.call(
        "POST", spark.seg("clusters", "/assign"), json={"customers": [{"customer_id": "nobody"}]}
    )
    assert unknown.status_code == 400 and "nobody" in unknown.json()["problem"]


@pytest.mark.spark
def test_tables_are_counted_in_the_engine(both: tuple[Served, Served]) -> None:
    duck, spark = both
    x = {t["name"]: t["rows"] for t in duck.ok("/api/v1/tables").json()}
    y = {t["name"]: t["rows"] for t in spark.ok("/api/v1/tables").json()}
    for name in ("orders", "customers", "events", "customer_features"):
        assert x[name] == y[name] > 0, name
    assert y["segment_assignments"] == 200 * len(NAMES)  # the engine's, not the driver's
    assert "runs" in y and "segmentations" in y  # the driver's system tables


@pytest.mark.spark
def test_compare_grouped_in_spark_equals_embedded(both: tuple[Served, Served]) -> None:
    duck, spark = both

    def compare(served: Served, a: str, b: str) -> dict[str, Any]:
        params = {"run_a": served.run_id, "name_a": a, "run_b": served.run_id, "name_b": b}
        return served.ok("/api/v1/compare", "viewer", params=params).json()

    x, y = compare(duck, "rfm", "clusters"), compare(spark, "rfm", "clusters")
    assert {k: v for k, v in x.items() if k not in "ab"} == {
        k: v for k, v in y.items() if k not in "ab"
    }
    assert y["customers"] == 200 and sum(map(sum, y["counts"])) == 200
    assert compare(spark, "clusters", "clusters")["same_name_share"] == 1.0


# -- what needs the embedded engine is refused clearly ----------------------------------------------


def _concrete(path: str, run_id: str) -> str:
    values = {"run_id": run_id, "name": "clusters", "label": "1", "customer_id": "C000001"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, those of included routers too (FastAPI keeps them in their router)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


@pytest.mark.spark
def test_every_route_answers_or_refuses_with_409(both: tuple[Served, Served]) -> None:
    """Every route of the Spark server: refused ones answer 409 with the paragraph and what
    to use instead; the served ones (GETs, tried here without parameters) are never a 5xx."""
    _, spark = both
    refused = 0
    for route in _routes(spark.app.routes):
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", "")
        if not methods or not path.startswith(("/api/v1", "/runs", "/web", "/")):
            continue
        if path in ("/openapi.json", "/static") or path.startswith("/vendor"):
            continue
        for method in sorted(methods - {"HEAD"}):
            r = spark.call(method, _concrete(path, spark.run_id), "admin")
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            if (method, path) in ON_SPARK:
                continue
            refused += 1
            assert r.status_code == 409, (method, path, r.status_code)
            if path.startswith("/api/"):
                body = r.json()
                assert body["error"] == "NotOnEngine" and "Spark" in body["problem"]
                assert "segmint" in body["fix"], (method, path)
    assert refused >= 60  # uploads, runs, updates, experiments, privacy, … (66 now)
    print(f"refused routes: {refused}")


@pytest.mark.spark
def test_monitor_answers_as_the_embedded_server(both: tuple[Served, Served]) -> None:
    """GET /api/v1/monitor and the Monitoring page on Spark (EngineWorkspace.monitor; its
    numbers are checked against the embedded monitor in test_spark_monitor.py): with one run
    both servers give the same answer, and the page renders."""
    duck, spark = both
    a, b = duck.get("/api/v1/monitor", "viewer"), spark.get("/api/v1/monitor", "viewer")
    assert a.status_code == b.status_code and b.status_code < 500, b.text[:300]
    if a.status_code == 200:
        assert a.json()["segmentations"] == b.json()["segmentations"]
    else:
        assert a.json()["error"] == b.json()["error"] != "NotOnEngine"
    page = spark.client.get("/monitor", cookies=spark.client.cookies)
    assert page.status_code in (200, 303), page.status_code


@pytest.mark.spark
def test_an_export_through_the_spark_server_equals_the_embedded_one(
    both: tuple[Served, Served],
) -> None:
    """POST …/export on Spark: the audience rows selected in Spark, the file written and
    logged on the driver; the download is byte for byte the embedded server's."""
    duck, spark = both
    body = {"segments": ["1"], "to": "csv", "assume_consent": True}
    a = duck.call("POST", duck.seg("clusters", "/export"), json=body)
    b = spark.call("POST", spark.seg("clusters", "/export"), json=body)
    assert a.status_code == b.status_code == 200, b.text[:300]
    assert a.content == b.content and int(b.headers["X-Segmint-Rows"]) > 0
    log = spark.ok("/api/v1/exports").json()
    assert log[0]["export_id"] == b.headers["X-Segmint-Export-Id"]
    assert log[0]["path"] == "download"


@pytest.mark.spark
def test_rename_is_refused_and_plans_are_edited_on_spark(both: tuple[Served, Served]) -> None:
    _, spark = both
    path = spark.seg("clusters", "/segments/1")
    rename = spark.call("PATCH", path, json={"name": "Renamed"})
    assert rename.status_code == 409 and "Renaming a segment" in rename.json()["problem"]
    plan = spark.call("PATCH", path, json={"targeting": {"goal": "Win back"}})
    assert plan.status_code == 200, plan.text
    stored = spark.ok(spark.seg("clusters")).json()["targeting"]["1"]
    assert stored["goal"] == "Win back"


# -- the web app ------------------------------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.browser
@pytest.mark.timeout(240)
def test_results_page_of_a_spark_run_in_chromium(both: tuple[Served, Served]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser import ARGS, CHROMIUM, serving

    _, spark = both
    segments = spark.ok(spark.seg("clusters")).json()["profiles"]["segments"]
    names = [s["name"] for s in segments]
    with serving(spark.app) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(base_url=url)
        page.set_default_timeout(30_000)
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto("/")
        page.get_by_label("Token").fill(spark.tokens["analyst"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        expect(page.get_by_text(spark.run_id).first).to_be_visible()
        page.goto(f"/runs/{spark.run_id}?s=clusters")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Results: clusters")
        for name in names:
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        expect(page.locator("details.export").first).to_be_attached()  # audience files
        page.goto(f"/runs/{spark.run_id}/segment?s=clusters&label=1")
        one = next(s["name"] for s in segments if s["label"] == "1")
        expect(page.get_by_role("heading", level=1)).to_contain_text(one)
        expect(page.get_by_text("not available on a Spark workspace").first).to_be_visible()
        page.goto("/upload")
        expect(page.get_by_text("not available on a Spark workspace").first).to_be_visible()
        assert not problems, problems
        browser.close()


# -- the CLI ------------------------------------------------------------------------------------------


def test_serve_refuses_a_missing_spark_workspace(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        cli, ["serve", "--engine", "spark", "--workspace", str(tmp_path / "none")]
    )
    assert out.exit_code == 2, out.output
    assert "There is no Spark workspace" in out.output and "Traceback" not in out.output


def test_serve_refuses_an_unknown_engine(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["serve", "--engine", "flink", "--workspace", str(tmp_path)])
    assert out.exit_code == 2, out.output
    assert "--engine must be one of" in out.output and "Traceback" not in out.output


@pytest.mark.spark
@pytest.mark.timeout(240)
def test_segmint_serve_engine_spark_serves_until_stopped(tmp_path: Path, spark: Any) -> None:
    """The command as a user runs it, in its own process (its own Spark): it prints the admin
    token, answers the API (an empty workspace's runs; an upload refused with 409) and stops
    on SIGTERM without a traceback."""
    import os
    import signal
    import subprocess
    import sys

    import httpx

    segmint.Workspace.spark(spark, tmp_path / "shop-spark").close()  # a Spark workspace, no runs
    from tests.test_browser import _free_port

    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    argv = ["serve", "--engine", "spark", "--workspace", str(tmp_path / "shop-spark")]
    argv += ["--spark-master", "local[1]", "--port", str(port), "--schedule-poll", "0"]
    code = "from segmint.cli import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        token = ""
        assert proc.stdout is not None
        for line in proc.stdout:  # the banner: the URL, then the admin token (first start)
            found = re.search(r"sgm_\S+", line)
            if found:
                token = found.group(0)
                break
        assert token, "segmint serve printed no admin token"
        url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 120
        while True:
            try:
                runs = httpx.get(f"{url}/api/v1/runs", headers=headers, timeout=30)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "segmint serve did not answer in 120 s"
                time.sleep(0.5)
        assert runs.status_code == 200 and runs.json() == []
        upload = httpx.post(f"{url}/api/v1/uploads", headers=headers, timeout=30)
        assert upload.status_code == 409 and "segmint run --engine spark" in upload.json()["fix"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err[-2000:]
