"""The web app through FastAPI's TestClient: sessions, CSRF, roles, upload and mapping, edits,
downloads and the offline API docs. (The same flow in a real browser: test_browser.py.)"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from segmint.api import Settings, create_app, first_admin_token, services
from segmint.datasets import make_retail
from segmint.exceptions import SegmintError
from segmint.ingest.sniff import sniff
from segmint.spec.model import SegmentationSpec

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Site:
    app: FastAPI
    tokens: dict[str, str]
    run_id: str
    data: Path

    def client(self, role: str | None = None) -> TestClient:
        client = TestClient(self.app)
        if role is not None:
            sign_in(client, self.tokens[role])
        return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> Any:
    form = client.get("/signin")
    return client.post(
        "/signin",
        data={"token": token, "csrf": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )


def csrf(client: TestClient) -> str:
    return csrf_of(client.get("/").text)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web")
    make_retail(300, seed=1).to_files(root / "data", format="csv")
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    state = app.state.segmint
    admin = first_admin_token(app)
    assert admin
    tokens = {"admin": admin}
    for role in ("viewer", "analyst"):
        tokens[role] = state.tokens.create(f"{role}-user", role)[1]
    job = state.jobs.wait(services.start_ingest(state, "setup", root / "data" / "orders.csv"))
    assert job and job["status"] == "done", job
    specs = [
        SegmentationSpec(name="rfm", method="rfm"),
        SegmentationSpec(name="clusters", method="kmeans", k=3),
    ]
    job = state.jobs.wait(services.start_run(state, "setup", specs))
    assert job and job["status"] == "done", job
    with TestClient(app):  # runs the lifespan: the job worker stops at the end
        yield Site(app, tokens, job["result"]["run_id"], root / "data")


def a_segment(site: Site, name: str = "clusters") -> dict[str, Any]:
    result = services.get_segmentation(site.app.state.segmint.workspace(), site.run_id, name)
    return result.profiles.segments[0].to_json()


# -- sign-in, sessions -------------------------------------------------------------------------


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(site: Site) -> None:
    client = site.client()
    bad = sign_in(client, "sgm_not-a-token")
    assert bad.status_code == 401 and "That token is not valid" in bad.text
    good = sign_in(client, site.tokens["viewer"])
    assert good.status_code == 303 and good.headers["location"] == "/"
    cookie = good.headers["set-cookie"].lower()
    assert "segmint_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert site.tokens["viewer"].lower() not in cookie  # only a signed token id, never the token
    page = client.get("/")
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    assert "viewer-user" in page.text
    out = client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_secure_cookies_when_configured(tmp_path: Path) -> None:
    app = create_app(Settings(workspace=tmp_path / "w.duckdb", secure_cookies=True))
    token = first_admin_token(app)
    assert token
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client, token)
        assert "secure" in response.headers["set-cookie"].lower()


def test_a_forged_or_tampered_cookie_is_no_session(site: Site) -> None:
    client = site.client("viewer")
    value = client.cookies.get("segmint_session")
    assert value
    payload, _, mac = value.partition(".")
    client.cookies.set("segmint_session", payload + "." + mac[:-2] + "AA")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_revoking_a_token_ends_its_sessions(site: Site) -> None:
    state = site.app.state.segmint
    principal, token = state.tokens.create("leaver", "viewer")
    client = site.client()
    sign_in(client, token)
    assert client.get("/").status_code == 200
    state.tokens.revoke(principal.token_id)
    assert client.get("/", follow_redirects=False).status_code == 303


PAGES = {
    "/": "viewer",
    "/quality": "viewer",
    "/compare": "viewer",
    "/monitor": "viewer",
    "/schedules": "viewer",
    "/campaigns": "viewer",
    "/docs": "viewer",
    "/upload": "analyst",
    "/update": "analyst",
    "/runs/new": "analyst",
    "/consent": "analyst",
    "/persons": "analyst",
    "/feedback": "analyst",
    "/tokens": "admin",
    "/retention": "admin",
    "/erase": "admin",
    "/audit": "admin",
}


def _run_pages(site: Site) -> dict[str, str]:
    label = a_segment(site)["label"]
    run = site.run_id
    return {
        f"/runs/{run}?s=clusters": "viewer",
        f"/runs/{run}/segment?s=clusters&label={label}": "viewer",
        f"/runs/{run}/report.html": "viewer",
        f"/runs/{run}/members.csv?s=clusters": "analyst",
    }


def test_every_page_needs_a_session(site: Site) -> None:
    client = site.client()
    for path in [*PAGES, *_run_pages(site)]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next=/"), path
    assert client.get("/web/api/jobs/x").status_code == 401
    assert client.get("/signin").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_role_matrix_for_pages(site: Site, role: str) -> None:
    client = site.client(role)
    order = ("viewer", "analyst", "admin")
    for path, needed in {**PAGES, **_run_pages(site)}.items():
        response = client.get(path)
        if order.index(role) >= order.index(needed):
            assert response.status_code == 200, (path, role, response.text[:300])
        else:
            assert response.status_code == 403, (path, role)
            assert f"This needs the {needed} role" in response.text
            assert f"a {role}" in response.text


def _posts(site: Site) -> list[tuple[str, dict[str, str], str, int]]:
    """(path, form, role needed, status when allowed); harmless when they succeed."""
    seg = a_segment(site, "rfm")
    run = site.run_id
    return [
        (
            f"/runs/{run}/rename",
            {"s": "rfm", "label": seg["label"], "name": seg["name"]},
            "analyst",
            303,
        ),
        (
            f"/runs/{run}/plan",
            {"s": "rfm", "label": seg["label"], "goal": "retain"},
            "analyst",
            303,
        ),
        ("/runs/new", {}, "analyst", 400),  # nothing chosen: the form again, with the problem
        ("/upload", {}, "analyst", 400),  # no file: the form again
        ("/update", {}, "analyst", 400),  # no file: the form again
        ("/schedules", {"cron": "0 6 * *"}, "analyst", 400),  # a bad expression: the form again
        ("/consent", {"customer": "nobody", "channel": "email"}, "analyst", 400),  # no such one
        ("/persons/dedupe", {}, "analyst", 400),  # orders only: nothing to compare records on
        ("/persons/decide", {"a": "x", "b": "y", "decision": "accept"}, "analyst", 400),  # no map
        ("/tokens", {"name": "", "role": "viewer"}, "admin", 400),
        ("/retention", {"spec": "", "action": "preview"}, "admin", 400),  # no limits given
        ("/subject-access", {"kind": "email", "value": ""}, "admin", 400),  # no value
        ("/erase/preview", {"kind": "email", "value": ""}, "admin", 400),  # no value
        ("/erase", {"kind": "email", "value": "x@y.z"}, "admin", 400),  # not confirmed
    ]


@pytest.mark.parametrize("role", [None, "viewer", "analyst", "admin"])
def test_role_matrix_for_form_posts(site: Site, role: str | None) -> None:
    client = site.client(role)
    token = csrf(client) if role else "x"
    order = ("viewer", "analyst", "admin")
    for path, form, needed, allowed_status in _posts(site):
        response = client.post(path, data={**form, "csrf": token}, follow_redirects=False)
        if role is None:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/signin"), path
        elif order.index(role) >= order.index(needed):
            assert response.status_code == allowed_status, (path, role, response.text[:400])
        else:
            assert response.status_code == 403, (path, role)
            assert f"This needs the {needed} role" in response.text


def test_form_posts_without_the_csrf_token_are_rejected(site: Site) -> None:
    client = site.client("admin")
    seg = a_segment(site)
    form = {"s": "clusters", "label": seg["label"], "name": "Hijacked"}
    for data in (form, {**form, "csrf": "wrong"}, {**form, "csrf": ""}):
        response = client.post(f"/runs/{site.run_id}/rename", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert a_segment(site)["name"] != "Hijacked"
    assert client.post("/tokens", data={"name": "x", "role": "admin"}).status_code == 403
    assert client.post("/signout").status_code == 403
    check = client.post("/web/api/rules/validate", json={"text": "A: frequency > 1"})
    assert check.status_code == 403
    # another session's token is no good either
    other = site.client("admin")
    response = client.post(
        f"/runs/{site.run_id}/rename", data={**form, "csrf": csrf(other)}, follow_redirects=False
    )
    assert response.status_code == 403


def test_sign_in_form_needs_its_csrf_token(site: Site) -> None:
    client = site.client()
    client.get("/signin")
    response = client.post("/signin", data={"token": site.tokens["admin"], "csrf": "nope"})
    assert response.status_code == 403 and "expired" in response.text
    assert "segmint_session" not in response.headers.get("set-cookie", "")


def test_sign_in_redirects_only_to_local_pages(site: Site) -> None:
    client = site.client()
    form = client.get("/signin?next=//evil.example/x")
    response = client.post(
        "/signin",
        data={"token": site.tokens["viewer"], "csrf": csrf_of(form.text), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


# -- pages -------------------------------------------------------------------------------------


def test_pages_have_security_headers_and_no_inline_scripts(site: Site) -> None:
    client = site.client("admin")
    label = a_segment(site)["label"]
    for path in [
        "/",
        "/quality",
        "/upload",
        "/runs/new",
        f"/runs/{site.run_id}?s=clusters",
        f"/runs/{site.run_id}/segment?s=clusters&label={label}",
        f"/compare?a={site.run_id}/rfm&b={site.run_id}/clusters",
        "/tokens",
        "/docs",
        "/signin",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self' 'unsafe-eval'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        for tag in re.findall(r"<script\b[^>]*>", response.text):
            assert 'src="/' in tag or 'type="application/json"' in tag, (path, tag)
        assert "https://" not in re.sub(r"<a [^>]*>", "", response.text), path  # no CDN


def test_dashboard_lists_tables_jobs_and_runs(site: Site) -> None:
    page = site.client("viewer").get("/").text
    assert "<code>orders</code>" in page and "<code>customers</code>" in page
    assert site.run_id in page and "clusters" in page and "rfm" in page
    assert "ingest" in page and "done" in page
    assert 'href="/upload"' not in page  # a viewer is not offered uploads


def test_results_show_ranked_cards_and_charts(site: Site) -> None:
    page = site.client("analyst").get(f"/runs/{site.run_id}?s=clusters").text
    result = services.get_segmentation(site.app.state.segmint.workspace(), site.run_id, "clusters")
    for seg in result.profiles.segments:
        assert str(escape(seg.name)) in page
    assert page.count('class="card seg-card"') == 3
    for chart in ("sizes-chart", "lift-chart", "map-chart", "k-chart"):
        assert f'id="{chart}-data"' in page or chart == "k-chart", chart
    assert 'type="application/json"' in page and "/vendor/plotly-" in page
    assert "Rename" in page and "Members CSV" in page
    viewer_page = site.client("viewer").get(f"/runs/{site.run_id}?s=clusters").text
    assert "Rename" not in viewer_page and "members.csv" not in viewer_page


def test_profile_shows_lift_rules_examples_and_plan(site: Site) -> None:
    seg = a_segment(site)
    page = site.client("viewer").get(
        f"/runs/{site.run_id}/segment", params={"s": "clusters", "label": seg["label"]}
    )
    assert page.status_code == 200
    text = page.text
    assert str(escape(seg["name"])) in text
    assert "profile-lift-data" in text
    assert "How to recognise them" in text and "precision" in text
    assert seg["examples"][0]["customer_id"] in text
    assert "Targeting plan" in text and "Goal" in text
    missing = site.client("viewer").get(
        f"/runs/{site.run_id}/segment", params={"s": "clusters", "label": "nope"}
    )
    assert missing.status_code == 404 and "There is no segment" in missing.text


def test_rename_and_plan_edits_persist(site: Site) -> None:
    client = site.client("analyst")
    seg = a_segment(site)
    token = csrf(client)
    response = client.post(
        f"/runs/{site.run_id}/rename",
        data={"csrf": token, "s": "clusters", "label": seg["label"], "name": "Loyal <b>fans</b>"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/runs/{site.run_id}?s=clusters#seg-")
    assert a_segment(site)["name"] == "Loyal <b>fans</b>"
    page = client.get(f"/runs/{site.run_id}?s=clusters").text
    assert "Loyal &lt;b&gt;fans&lt;/b&gt;" in page and "<b>fans</b>" not in page
    members = client.get(
        f"/runs/{site.run_id}/members.csv", params={"s": "clusters", "label": seg["label"]}
    )
    assert {r["segment_name"] for r in csv.DictReader(members.text.splitlines())} == {
        "Loyal <b>fans</b>"
    }
    response = client.post(
        f"/runs/{site.run_id}/plan",
        data={
            "csrf": token,
            "s": "clusters",
            "label": seg["label"],
            "goal": "win back",
            "channel": "e-mail",
            "offer": "free shipping",
            "message": "We miss you",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and "/segment?" in response.headers["location"]
    result = services.get_segmentation(site.app.state.segmint.workspace(), site.run_id, "clusters")
    plan = result.targeting[seg["label"]]
    assert plan.goal == "win back" and plan.offer == "free shipping" and plan.edited
    profile = client.get(response.headers["location"]).text
    assert "win back" in profile and "Edited by hand" in profile
    bad = client.post(
        f"/runs/{site.run_id}/rename",
        data={"csrf": token, "s": "clusters", "label": seg["label"], "name": " "},
    )
    assert bad.status_code == 400 and "1–80 characters" in bad.text


def test_downloads_have_the_right_content_type(site: Site) -> None:
    client = site.client("analyst")
    members = client.get(f"/runs/{site.run_id}/members.csv", params={"s": "rfm"})
    assert members.headers["content-type"].startswith("text/csv")
    assert members.headers["content-disposition"] == 'attachment; filename="rfm-members.csv"'
    assert members.text.splitlines()[0] == "customer_id,segment,segment_name"
    assert len(members.text.splitlines()) == 301
    report = client.get(f"/runs/{site.run_id}/report.html")
    assert report.headers["content-type"].startswith("text/html")
    assert "attachment" in report.headers["content-disposition"]
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert "<!DOCTYPE html>" in report.text
    plotly_src = site.app.state.web_plotly_src
    js = client.get(plotly_src)
    assert js.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in js.headers["cache-control"]
    assert len(js.content) > 1_000_000
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    missing = client.get("/runs/../../etc/passwd/report.html")
    assert missing.status_code == 404
    assert client.get("/runs/0001-ingest/report.html").status_code == 404


def test_compare_shows_the_migration_matrix(site: Site) -> None:
    client = site.client("viewer")
    page = client.get("/compare").text
    assert "<select" in page and f"{site.run_id}/clusters" in page
    response = client.get(
        "/compare", params={"a": f"{site.run_id}/rfm", "b": f"{site.run_id}/clusters"}
    )
    assert response.status_code == 200
    assert "Migration matrix" in response.text and "migration-chart-data" in response.text
    assert "300 customers are in both" in response.text
    bad = client.get("/compare", params={"a": "nope/x", "b": f"{site.run_id}/rfm"})
    assert bad.status_code == 404


def test_quality_page_shows_the_last_import(site: Site) -> None:
    page = site.client("viewer").get("/quality").text
    assert "Last import: <strong>orders</strong>" in page
    assert "Quality gates" in page and "Tables" in page
    assert "not in source" in page  # orders.csv has no e-mail column: neutral, not 100 % missing
    assert 'href="/quality/report.html"' in page
    report = site.client("viewer").get("/quality/report.html")
    assert (
        report.status_code == 200
        and "default-src 'none'" in report.headers["content-security-policy"]
    )


def test_docs_lists_every_api_path_with_its_role(site: Site) -> None:
    page = site.client("viewer").get("/docs").text
    spec = site.app.openapi()
    assert spec["paths"], "the API has paths"
    for path, item in spec["paths"].items():
        assert f"<code>{escape(path)}</code>" in page, path
        for op in item.values():
            assert str(escape(op["summary"])) in page
    assert not any(p.startswith("/runs") or p == "/" for p in spec["paths"])  # pages stay out
    assert "role: admin" in page and "role: analyst" in page and "role: viewer" in page
    assert 'href="/openapi.json"' in page
    assert "segmentations" in page  # the run request's body fields
    assert 'id="schema-SegmentationSpec"' in page and "<code>k_range</code>" in page


def test_api_errors_stay_json(site: Site) -> None:
    client = site.client()
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"].startswith("A valid API token is needed")
    headers = {"Authorization": f"Bearer {site.tokens['viewer']}"}
    missing = client.get("/api/v1/runs/nope/segmentations/x", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    invalid = client.post("/api/v1/rules/validate", json={"rules": {}}, headers=headers)
    assert invalid.status_code == 422 and invalid.json()["error"] == "ValidationError"
    assert client.get("/api/v1/nope", headers=headers).json() == {"detail": "Not Found"}
    assert client.get("/api/v1/nope").status_code == 401  # no probing without a token
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.text


def test_rules_are_validated_live(site: Site) -> None:
    client = site.client("viewer")
    headers = {"X-CSRF-Token": csrf(client)}
    ok = client.post(
        "/web/api/rules/validate",
        json={"text": "VIP: monetary_total > 1000\n\n# c\nNew: tenure_days < 90"},
        headers=headers,
    )
    assert ok.json() == {"ok": True, "rules": 2, "errors": []}
    bad = client.post(
        "/web/api/rules/validate", json={"text": "A: frequency >\nB frequency"}, headers=headers
    ).json()
    assert not bad["ok"]
    lines = {e["line"] for e in bad["errors"]}
    assert lines == {1, 2}
    assert any("^" in e["message"] for e in bad["errors"])
    assert client.post("/web/api/rules/validate", json=[1], headers=headers).status_code == 400


def test_the_live_rule_check_knows_the_workspace_columns(site: Site) -> None:
    """'✓ 1 rule is valid' for a misspelt column was followed by a failed job."""
    client = site.client("viewer")
    headers = {"X-CSRF-Token": csrf(client)}

    def check(text: str, **extra: Any) -> dict[str, Any]:
        body = {"text": text, **extra}
        response = client.post("/web/api/rules/validate", json=body, headers=headers)
        assert response.status_code == 200
        return dict(response.json())

    typo = check("# spend\nVIP: monetary_totl > 2000")
    assert not typo["ok"] and typo["rules"] == 1
    (error,) = typo["errors"]
    assert error["line"] == 2 and error["rule"] == "VIP"
    assert "unknown column 'monetary_totl'. Did you mean 'monetary_total'?" in error["message"]
    assert check("VIP: monetary_total > 2000")["ok"]
    # the value models' columns exist only when the form's value step is on
    assert not check("Likely: p_alive > 0.5")["ok"]
    assert check("Likely: p_alive > 0.5", value=True)["ok"]
    # types are checked too, not only names
    wrong = check("VIP: monetary_total > 'lots'")
    assert not wrong["ok"] and "expected a number" in wrong["errors"][0]["message"]


def test_the_run_form_checks_column_names_before_starting_a_job(site: Site) -> None:
    client = site.client("analyst")
    form = client.get("/runs/new").text
    assert 'id="features"' in form and "<code>monetary_total</code>" in form
    jobs = len(site.app.state.segmint.jobs.list())
    data = {"csrf": csrf(client), "rules_on": "on", "rules": "VIP: monetary_totl > 2000"}
    bad = client.post("/runs/new", data=data)
    assert bad.status_code == 400 and "Did you mean &#39;monetary_total&#39;" in bad.text
    data = {"csrf": csrf(client), "cluster_on": "on", "cluster_method": "kmeans", "k": "3"}
    data["features"] = "frequncy, tenure_days"
    bad = client.post("/runs/new", data=data)
    assert bad.status_code == 400 and "did you mean &#39;frequency&#39;" in bad.text
    assert len(site.app.state.segmint.jobs.list()) == jobs  # nothing was queued


def test_the_run_form_reports_problems_and_starts_a_job(site: Site) -> None:
    client = site.client("analyst")
    token = csrf(client)
    bad = client.post(
        "/runs/new",
        data={"csrf": token, "rules_on": "on", "rules": "VIP: frequency >", "k": "x"},
    )
    assert bad.status_code == 400 and "Rules" in bad.text and "VIP: frequency &gt;" in bad.text
    bad_k = client.post(
        "/runs/new",
        data={"csrf": token, "cluster_on": "on", "cluster_method": "kmeans", "k": "one"},
    )
    assert bad_k.status_code == 400 and "k must be" in bad_k.text
    started = client.post(
        "/runs/new",
        data={"csrf": token, "rules_on": "on", "rules": "Frequent: frequency >= 5"},
        follow_redirects=False,
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_id = started.headers["location"].rsplit("/", 1)[1]
    site.app.state.segmint.jobs.wait(job_id)
    status = client.get(f"/web/api/jobs/{job_id}").json()
    assert status["status"] == "done" and status["link"]["href"].startswith("/runs/")
    page = client.get(f"/jobs/{job_id}").text
    assert "Open the results" in page and 'data-finished="yes"' in page
    results = client.get(status["link"]["href"]).text
    assert "Frequent" in results


# -- upload and mapping ----------------------------------------------------------------------------


def _upload(client: TestClient, name: str, content: bytes) -> Any:
    return client.post(
        "/upload",
        data={"csrf": csrf(client)},
        files={"file": (name, content, "application/octet-stream")},
        follow_redirects=False,
    )


def test_a_bad_upload_shows_the_same_paragraph_as_the_cli(site: Site, tmp_path: Path) -> None:
    client = site.client("analyst")
    for name, content in (
        ("orders.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20),
        ("empty.csv", b""),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(SegmintError) as caught:
            sniff(str(path))
        response = _upload(client, name, content)
        assert response.status_code == 400, name
        assert "The file could not be used" in response.text
        error = caught.value
        assert str(escape(error.problem)) in response.text  # the CLI's paragraph, minus
        assert str(escape(error.fix)) in response.text  # the server-side path
        assert "Traceback" not in response.text


def test_an_upload_over_the_limit_is_refused(tmp_path: Path) -> None:
    app = create_app(Settings(workspace=tmp_path / "w.duckdb", max_upload_bytes=1024))
    token = first_admin_token(app)
    assert token
    with TestClient(app) as client:
        sign_in(client, token)
        response = _upload(client, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
        assert response.status_code == 413
        assert "larger than the upload limit" in response.text


def _selections(page: str) -> dict[str, str]:
    out = {}
    for name, body in re.findall(
        r'<select id="map-[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = html.unescape(chosen.group(1)) if chosen else ""
    return out


def test_the_mapping_screen_fixes_an_undetected_column(site: Site, tmp_path: Path) -> None:
    rows = list(csv.reader((site.data / "orders.csv").read_text().splitlines()))
    header = ["Shopper Ref" if h == "customer_id" else h for h in rows[0]]
    odd = tmp_path / "odd_orders.csv"
    with odd.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows[1:121]])
    client = site.client("analyst")
    response = _upload(client, "odd_orders.csv", odd.read_bytes())
    assert response.status_code == 303
    mapping_url = response.headers["location"]
    page = client.get(mapping_url).text
    assert "Some columns need your help" in page
    assert "segmint needs a column for" in page  # the importer's own paragraph
    chosen = _selections(page)
    assert chosen["map-customer_id"] == "" and chosen["map-ordered_at"] == "ordered_at"
    assert 'class="needs"' in page
    assert '<option value="orders" selected>' in page
    upload_id = mapping_url.rsplit("/", 1)[1]
    token = csrf(client)
    unfixed = client.post(
        f"/upload/{upload_id}/import", data={"csrf": token, "table": "orders", **chosen}
    )
    assert unfixed.status_code == 400 and "The mapping is not complete" in unfixed.text
    chosen["map-customer_id"] = "Shopper Ref"
    response = client.post(
        f"/upload/{upload_id}/import",
        data={"csrf": token, "table": "orders", **chosen},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    job = site.app.state.segmint.jobs.wait(response.headers["location"].rsplit("/", 1)[1])
    assert job and job["status"] == "done", job
    assert job["result"]["mapped"]["customer_id"] == "Shopper Ref"
    assert job["result"]["rows"] == 120
    other = client.get(mapping_url, params={"table": "customers"}).text
    assert '<option value="customers" selected>' in other and "map-email" in other


def test_an_upload_id_cannot_escape_the_upload_folder(site: Site) -> None:
    client = site.client("analyst")
    for bad in ("..%2F..%2Fetc", "0" * 31 + "g", "abc"):
        assert client.get(f"/upload/{bad}").status_code == 404


# -- tokens ------------------------------------------------------------------------------------


def test_tokens_page_creates_once_and_revokes(site: Site) -> None:
    client = site.client("admin")
    token = csrf(client)
    created = client.post("/tokens", data={"csrf": token, "name": "maria", "role": "analyst"})
    assert created.status_code == 200
    secret = re.search(r'id="new-token" class="token" value="(sgm_[^"]+)"', created.text)
    assert secret, "the new token is shown"
    assert secret.group(1) not in client.get("/tokens").text  # shown once only
    maria = site.client()
    assert sign_in(maria, secret.group(1)).status_code == 303
    assert maria.get("/upload").status_code == 200
    token_id = next(
        t["token_id"] for t in site.app.state.segmint.tokens.list() if t["name"] == "maria"
    )
    revoked = client.post(
        f"/tokens/{token_id}/revoke", data={"csrf": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert maria.get("/upload", follow_redirects=False).status_code == 303
    own = next(
        t["token_id"]
        for t in site.app.state.segmint.tokens.list()
        if t["role"] == "admin" and t["revoked_at"] is None and t["name"] == "admin"
    )
    refused = client.post(f"/tokens/{own}/revoke", data={"csrf": token})
    assert refused.status_code == 400 and "cannot revoke the token you are signed in with" in (
        refused.text
    )


def test_a_failed_job_shows_its_error_paragraph(site: Site) -> None:
    from segmint.exceptions import InputError

    def work(progress: Any) -> dict[str, Any]:
        progress("Reading")
        raise InputError("The file has no orders.", fix="upload the orders export.")

    state = site.app.state.segmint
    job_id = state.jobs.submit("ingest", "tester", work)
    state.jobs.wait(job_id)
    client = site.client("viewer")
    page = client.get(f"/jobs/{job_id}").text
    assert "failed" in page and "The file has no orders." in page
    assert "upload the orders export." in page and 'data-finished="yes"' in page
    status = client.get(f"/web/api/jobs/{job_id}").json()
    assert status["finished"] and status["link"] is None and "no orders" in status["error"]
    assert client.get("/jobs/nope").status_code == 404
