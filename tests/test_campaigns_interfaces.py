"""Campaign results through every interface: ``segmint campaigns`` (Typer's CliRunner), ``GET
/api/v1/campaigns`` and the Campaigns page (FastAPI's TestClient), and the report's "Campaign
results" section after a real ``segmint run``; each shows the numbers of Workspace.campaigns."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app as cli_app
from segmint.report import render_report
from tests.campaign_support import hillstrom, write_files
from tests.test_web import sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
runner = CliRunner()


@pytest.fixture(scope="module")
def hill(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the Hillstrom test as campaigns and campaign contacts."""
    root = tmp_path_factory.mktemp("hill-ui")
    campaigns, contacts = write_files(hillstrom(), root / "data")
    path = root / "w.duckdb"
    for file, table in ((campaigns, "campaigns"), (contacts, "campaign_contacts")):
        r = runner.invoke(cli_app, ["ingest", str(file), "--as", table, "-w", str(path)])
        assert r.exit_code == 0, r.output
    return path


def cli(*args: str) -> Any:
    return runner.invoke(cli_app, list(args), env={"COLUMNS": "200"})


def flat(text: str) -> str:
    """The output as one line, without the error panel's borders."""
    return " ".join(text.replace("│", " ").split())


# ------------------------------------------------------------------------------------ CLI


def test_cli_prints_the_tables_and_the_best_channels_and_writes_the_json(hill, tmp_path):
    out = tmp_path / "res.json"
    r = cli("campaigns", "--by", "segment", "--by", "channel", "--json", str(out), "-w", str(hill))
    assert r.exit_code == 0, r.output
    text = flat(r.output)
    assert "Best channel per segment" in text
    assert "In Phone, mens e-mail converts best (conversion 1.1 %, 95 % CI" in text
    assert "is clearly worse (p = 0.0" in text  # Phone: p ≈ 0.007
    assert "– in open: no opens were recorded for these contacts" in text
    with segmint.Workspace(hill, read_only=True) as ws:
        expected = ws.campaigns(by=["segment", "channel"]).to_dict()
    assert json.loads(out.read_text()) == expected


def test_cli_user_errors_exit_2_with_the_fix(hill, tmp_path):
    empty = tmp_path / "empty.duckdb"
    with segmint.Workspace(empty) as ws:
        ws.ingest(_tiny_customers(tmp_path), into="customers")
    r = cli("campaigns", "-w", str(empty))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "has no campaign contacts" in flat(r.output)
    assert "--as campaign_contacts" in flat(r.output)
    r = cli("campaigns", "-w", str(tmp_path / "nowhere.duckdb"))
    assert r.exit_code == 2 and "There is no workspace" in flat(r.output)
    assert not (tmp_path / "nowhere.duckdb").exists()
    r = cli("campaigns", "--by", "region", "-w", str(hill))
    assert r.exit_code == 2 and "grouped by campaign, segment and channel" in flat(r.output)
    r = cli("campaigns", "--campaign", "NOPE", "-w", str(hill))
    assert r.exit_code == 2 and "HM, HN, HW" in flat(r.output)


def test_cli_help_teaches_with_examples():
    r = cli("campaigns", "--help")
    assert r.exit_code == 0
    text = flat(r.output)
    assert "segmint ingest contacts.csv --as campaign_contacts" in text
    assert "segmint campaigns --segmentation rfm" in text and "--json" in text


def _tiny_customers(folder: Path) -> Path:
    path = folder / "customers.csv"
    path.write_text("customer_id,email\nA,a@example.org\n")
    return path


# ------------------------------------------------------------------------------------ API


@pytest.fixture
def server(hill: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(Settings(workspace=hill))
    names = len(app.state.segmint.tokens.list())  # the fixture runs once per test
    tokens = {"viewer": app.state.segmint.tokens.create(f"viewer{names}", "viewer")[1]}
    with TestClient(app) as client:
        yield client, tokens
    app.state.segmint.close()


def test_api_answers_the_numbers_of_the_workspace(server, hill):
    client, tokens = server
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    r = client.get("/api/v1/campaigns", params={"by": ["segment"]}, headers=auth)
    assert r.status_code == 200, r.text
    with segmint.Workspace(hill) as ws:  # the server's connection is open: same settings
        assert r.json() == ws.campaigns(by="segment").to_dict()
    one = client.get("/api/v1/campaigns", params={"campaign": "HW"}, headers=auth).json()
    assert {row["campaign_id"] for row in one["rows"]} == {"HW"}
    assert client.get("/api/v1/campaigns").status_code == 401
    bad = client.get("/api/v1/campaigns", params={"campaign": "NOPE"}, headers=auth)
    assert bad.status_code == 400 and "HM" in bad.json()["fix"]
    assert client.get("/api/v1/campaigns", params={"by": "region"}, headers=auth).status_code == 422


# ------------------------------------------------------------------------------------ web


def test_campaigns_page_shows_the_table_the_sentences_and_the_chart(server):
    client, tokens = server
    sign_in(client, tokens["viewer"])
    page = client.get("/campaigns?by=segment&by=channel")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<a href="/campaigns" aria-current="page">Campaigns</a>' in text
    assert "Campaign results" in text and "In Web, mens e-mail converts best" in text
    assert 'id="campaign-chart"' in text and "/vendor/plotly-" in text
    figure = re.search(r'id="campaign-chart-data">(.*?)</script>', page.text, re.S)
    assert figure
    traces = json.loads(figure.group(1))["data"]
    assert sorted(t["name"] for t in traces) == ["mens e-mail", "womens e-mail"]
    assert all(len(t["error_x"]["array"]) == 3 for t in traces)  # Phone, Web, Multichannel


def test_campaigns_page_without_contacts_says_how_to_import(tmp_path):
    path = tmp_path / "w.duckdb"
    with segmint.Workspace(path) as ws:
        ws.ingest(_tiny_customers(tmp_path), into="customers")
    app = create_app(Settings(workspace=path))
    token = first_admin_token(app)
    assert token
    with TestClient(app) as client:
        assert client.get("/campaigns", follow_redirects=False).status_code == 303
        sign_in(client, token)
        page = client.get("/campaigns")
        assert page.status_code == 200
        assert "No campaign contacts have been imported yet" in page.text
        assert "segmint ingest contacts.csv --as campaign_contacts" in page.text
    app.state.segmint.close()


# --------------------------------------------------------------------------------- report


def test_report_has_a_campaign_results_section(hill):
    with segmint.Workspace(hill) as ws:
        res = ws.campaigns(by="segment").to_dict()
    page = html.unescape(render_report({"segmentations": [], "campaigns": res}))
    assert '<a href="#campaigns">Campaign results</a>' in page
    assert "In Multichannel, mens e-mail converts best" in page
    assert 'id="campaign-chart"' in page and "Plotly.newPlot" in page
    assert "Campaign results" not in render_report({"segmentations": []})


def _shop_run(tmp_path, *run_args: str) -> tuple[dict, Path, dict]:
    """The sample shop with its campaigns imported by a spec and one RFM run; returns
    (report.json, the report folder, the shop's files)."""
    files = segmint.datasets.make_retail(300, seed=5).to_files(tmp_path / "d", format="csv")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "sources:\n"
        + "".join(
            f"  - {{path: {files[t]}, as: {t}}}\n"
            for t in ("customers", "orders", "campaigns", "campaign_contacts")
        )
        + "segmentations:\n  - {name: rfm, method: rfm}\n"
    )
    out = tmp_path / "r"
    r = cli("run", "--spec", str(spec), *run_args, "-w", str(tmp_path / "w.duckdb"),
            "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    return json.loads((out / "report.json").read_text()), out, files


def _placed(report: dict) -> set[str]:
    """The segments the campaign rows name, after checking they are the run's segments."""
    names = {s["name"] for s in report["segmentations"][0]["profiles"]["segments"]}
    segments = {row["segment"] for row in report["campaigns"]["rows"]} - {"(no segment)"}
    assert segments and segments <= names
    return segments


def test_a_run_reports_campaigns_per_segment_at_send_time(tmp_path):
    shop = segmint.datasets.make_retail(300, seed=5).to_files(tmp_path / "p", format="csv")
    # features as of a day before the first campaign, so the run was active at send time
    with segmint.Workspace(tmp_path / "probe.duckdb") as probe:
        probe.ingest(shop["campaigns"], into="campaigns")
        first = probe.store.db.execute("SELECT min(started_at) FROM campaigns").fetchone()[0]
    report, out, _ = _shop_run(tmp_path, "--as-of", first.date().isoformat())
    _placed(report)
    assert {row["channel"] for row in report["campaigns"]["rows"]} == {"email", "sms"}
    page = (out / "report.html").read_text()
    assert 'id="campaigns-h">Campaign results</h2>' in page


def test_a_first_run_over_past_campaigns_places_them_by_its_own_segments(tmp_path):
    """Campaigns sent before any run: the report uses this run's segments and says so, rather
    than a table of "(no segment)" rows."""
    report, _, _ = _shop_run(tmp_path)
    campaigns = report["campaigns"]
    _placed(report)
    assert campaigns["run_id"] == report["run_id"]
    assert any("No run of 'rfm' existed" in n for n in campaigns["notes"])


# ----------------------------------------------------------------------------------- docs


def test_the_python_example_in_the_docs_runs(tmp_path, monkeypatch, capsys):
    doc = (Path(__file__).parents[1] / "docs" / "experiments.md").read_text(encoding="utf-8")
    section = doc.split("## Campaign results", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "docs/experiments.md", "exec"), {})
    assert "converts best" in capsys.readouterr().out
