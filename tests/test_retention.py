"""Retention through the real parts: the spec's ``retention:`` section, the delete in DuckDB,
the audit log, scheduled runs, the command line (Typer's CliRunner), the REST API and the
admin page. One sample shop (orders, events, feedback and campaign contacts over 2019–2024)
is built per module and copied for each test; the expected counts come from pandas on the
tables as they were, with cutoffs from pandas' own calendar arithmetic."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint._run.schedule import add_schedule, run_schedule
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app
from segmint.exceptions import SpecError
from segmint.privacy.audit import entries
from segmint.privacy.retention import apply_retention
from segmint.spec.model import spec_from_text
from segmint.spec.retention import RetentionSpec, cutoff
from tests.test_web import csrf_of, sign_in

runner = CliRunner()
NOW = datetime(2025, 3, 31, 12, 0)
LIMITS = {"orders": "3y", "events": "13m", "feedback": "2y", "campaign_contacts": "104w"}
#: the canonical tables and the time column each limit reads
TIME = {
    "orders": "ordered_at",
    "events": "occurred_at",
    "feedback": "answered_at",
    "campaign_contacts": "sent_at",
}
#: the same limits as pandas offsets (an independent calendar)
OFFSETS = {
    "orders": pd.DateOffset(years=3),
    "events": pd.DateOffset(months=13),
    "feedback": pd.DateOffset(years=2),
    "campaign_contacts": pd.DateOffset(weeks=104),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("retention")
    sample = segmint.datasets.make_retail(250, seed=11, start="2019-01-01", end="2024-12-31")
    files = sample.to_files(root / "data", format="csv")
    tables = ("customers", "orders", "events", "feedback", "campaigns", "campaign_contacts")
    spec = root / "s.yaml"
    spec.write_text(
        "sources:\n"
        + "".join(f"  - {{path: {files[t]}, as: {t}}}\n" for t in tables)
        + "segmentations:\n  - {name: rfm, method: rfm}\n"
    )
    ws = root / "shop.duckdb"
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws), "--out", str(root / "r")])
    assert r.exit_code == 0, r.output
    return ws


@pytest.fixture
def ws_path(base: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "shop.duckdb"
    shutil.copy(base, copy)
    key = Path(f"{base}.key")  # the privacy key travels with the workspace
    if key.exists():
        shutil.copy(key, f"{copy}.key")
    return copy


def _expected(ws: segmint.Workspace, now: datetime) -> dict[str, int]:
    out = {}
    for key, column in TIME.items():
        times = ws.table(key).to_pandas()[column]
        out[key] = int((times < pd.Timestamp(now) - OFFSETS[key]).sum())
    return out


def test_removed_rows_are_those_older_than_each_cutoff(ws_path: Path):
    with segmint.Workspace(ws_path) as ws:
        expected = _expected(ws, NOW)
        before = {k: ws.store.count(k) for k in (*TIME, "customers")}
        done = ws.apply_retention(LIMITS, now=NOW)
        assert done.removed == expected
        assert all(n > 0 for n in expected.values())  # every table had old rows to lose
        assert all(expected[k] < before[k] for k in TIME)  # and recent rows to keep
        for key, column in TIME.items():
            assert ws.store.count(key) == before[key] - expected[key]
            oldest = ws.store.db.execute(f"SELECT min({column}) FROM {key}").fetchone()[0]
            assert oldest >= (pd.Timestamp(NOW) - OFFSETS[key]).to_pydatetime()
            assert done.cutoffs[key] == (pd.Timestamp(NOW) - OFFSETS[key]).to_pydatetime()
        assert ws.store.count("customers") == before["customers"]  # customers stay
        logged = [e for e in entries(ws.store.db) if e["action"] == "retention.apply"]
        assert len(logged) == 1
        assert logged[0]["detail"]["removed"] == expected
        assert logged[0]["detail"]["total"] == sum(expected.values())


def test_dry_run_counts_the_same_rows_and_changes_nothing(ws_path: Path):
    with segmint.Workspace(ws_path) as ws:
        expected = _expected(ws, NOW)
        before = ws.store.fingerprint()
        done = ws.apply_retention(LIMITS, now=NOW, dry_run=True)
        assert done.dry_run and done.removed == expected
        assert ws.store.fingerprint() == before  # not even an audit row


def test_quality_samples_go_with_the_runs_that_made_them(ws_path: Path):
    with segmint.Workspace(ws_path) as ws:
        db = ws.store.db
        samples = db.execute("SELECT count(*) FROM quality_issues").fetchone()[0]
        assert samples > 0
        last = db.execute("SELECT max(finished_at) FROM runs").fetchone()[0]
        policy = RetentionSpec(quality_samples="30d")
        kept = apply_retention(ws.store, policy, now=last + pd.Timedelta(days=29))
        assert kept.removed == {"quality_samples": 0}
        gone = apply_retention(ws.store, policy, now=last + pd.Timedelta(days=31))
        assert gone.removed == {"quality_samples": samples}
        assert gone.file["seconds"] > 0 and gone.rewrite_deferred is None  # bytes gone too
        assert kept.file == {}  # nothing removed, nothing rewritten
        db = ws.store.db  # the file was rewritten: a new connection
        assert db.execute("SELECT count(*) FROM quality_issues").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM quality_counts").fetchone()[0] > 0  # counts stay


def test_durations_count_back_in_calendar_units():
    assert cutoff("13m", datetime(2026, 12, 3)) == datetime(2025, 11, 3)
    assert cutoff("1m", datetime(2025, 3, 31)) == datetime(2025, 2, 28)
    assert cutoff("1y", datetime(2028, 2, 29)) == datetime(2027, 2, 28)
    assert cutoff("26w", datetime(2025, 1, 1)) == datetime(2024, 7, 3)


@pytest.mark.parametrize("bad", ["3 years", "0d", "3x", "-1y", 3])
def test_a_bad_duration_is_a_spec_error_naming_the_key(bad: object, tmp_path: Path):
    with pytest.raises(SpecError) as err:
        spec_from_text(
            json.dumps({"retention": {"orders": bad}}), where="s.yaml", base_dir=tmp_path
        )
    assert "retention.orders" in str(err.value) and "not a duration" in str(err.value)


def test_cli_shows_applies_and_refuses_a_bad_spec(ws_path: Path, tmp_path: Path):
    spec = tmp_path / "r.yaml"
    spec.write_text("retention:\n  orders: 3y\n  events: 13m\n")
    shown = runner.invoke(app, ["retention", "show", "--spec", str(spec)])
    assert shown.exit_code == 0, shown.output
    assert "orders" in shown.output and "3y" in shown.output
    with segmint.Workspace(ws_path) as ws:
        expected = _expected(ws, datetime.now())
        before = ws.store.fingerprint()
    dry = runner.invoke(
        app, ["retention", "apply", "--spec", str(spec), "--dry-run", "--json", "-w", str(ws_path)]
    )
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.output)
    assert counted["dry_run"] is True
    assert counted["tables"]["orders"]["removed"] == expected["orders"]
    with segmint.Workspace(ws_path) as ws:
        assert ws.store.fingerprint() == before
    done = runner.invoke(app, ["retention", "apply", "--spec", str(spec), "-w", str(ws_path)])
    assert done.exit_code == 0, done.output
    assert "Removed" in done.output
    spec.write_text("retention:\n  orders: 3 years\n")
    bad = runner.invoke(app, ["retention", "apply", "--spec", str(spec), "-w", str(ws_path)])
    assert bad.exit_code == 2
    assert "not a duration" in bad.output and "Traceback" not in bad.output
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    none = runner.invoke(app, ["retention", "apply", "--spec", str(spec), "-w", str(ws_path)])
    assert none.exit_code == 2 and "no retention" in none.output


def test_a_scheduled_run_applies_its_specs_retention_first(ws_path: Path):
    text = "retention: {orders: 3y, events: 13m}\nsegmentations:\n  - {name: rfm, method: rfm}\n"
    with segmint.Workspace(ws_path) as ws:
        expected = _expected(ws, NOW)
        schedule = add_schedule(ws, "0 6 * * 1", spec_text=text, now=NOW)
        run = run_schedule(ws, schedule, now=NOW, report_dir=ws_path.parent / "report")
        assert run.status == "ok", run.error
        note = next(n for n in run.notes if n.startswith("Retention:"))
        assert f"orders {expected['orders']:,}" in note
        recorded = ws.store.db.execute(
            "SELECT notes FROM schedule_runs WHERE schedule_id = ?", [schedule.schedule_id]
        ).fetchone()[0]
        assert note in json.loads(recorded)
        oldest = ws.store.db.execute("SELECT min(ordered_at) FROM orders").fetchone()[0]
        assert oldest >= (pd.Timestamp(NOW) - OFFSETS["orders"]).to_pydatetime()
        logged = [e for e in entries(ws.store.db) if e["action"] == "retention.apply"]
        assert logged[0]["detail"]["removed"]["orders"] == expected["orders"]


def _api(ws_path: Path) -> tuple[Any, dict[str, str]]:
    server = create_app(Settings(workspace=ws_path, schedule_poll_s=0))
    admin = first_admin_token(server)
    assert admin is not None
    state = server.state.segmint
    return server, {"admin": admin, "analyst": state.tokens.create("ana", "analyst")[1]}


def test_api_and_admin_page(ws_path: Path):
    with segmint.Workspace(ws_path, read_only=True) as ws:
        expected = _expected(ws, datetime.now())
    server, tokens = _api(ws_path)
    body = {"retention": {"orders": "3y"}, "dry_run": True}
    with TestClient(server) as client:
        refused = client.post(
            "/api/v1/retention/apply",
            json=body,
            headers={"Authorization": f"Bearer {tokens['analyst']}"},
        )
        assert refused.status_code == 403
        auth = {"Authorization": f"Bearer {tokens['admin']}"}
        dry = client.post("/api/v1/retention/apply", json=body, headers=auth)
        assert dry.status_code == 200, dry.text
        assert dry.json()["tables"]["orders"]["removed"] == expected["orders"]
        bad = client.post(
            "/api/v1/retention/apply", json={"retention": {"orders": "soon"}}, headers=auth
        )
        assert bad.status_code == 400 and "not a duration" in bad.json()["problem"]
        sign_in(client, tokens["admin"])
        page = client.get("/retention")
        assert page.status_code == 200 and "Retention" in page.text
        preview = client.post(
            "/retention",
            data={
                "csrf": csrf_of(page.text),
                "spec": "retention: {orders: 3y}",
                "action": "preview",
            },
        )
        assert preview.status_code == 200
        assert f'data-retention-total="{expected["orders"]}"' in preview.text
        assert 'data-dry-run="true"' in preview.text
        applied = client.post(
            "/retention",
            data={"csrf": csrf_of(page.text), "spec": "retention: {orders: 3y}", "action": "apply"},
        )
        assert 'data-dry-run="false"' in applied.text
        db = server.state.segmint.workspace().store.db
        logged = [e for e in entries(db) if e["action"] == "retention.apply"]
        assert len(logged) == 1 and logged[0]["detail"]["removed"] == {"orders": expected["orders"]}
        assert logged[0]["origin"] not in ("cli", "python")
    server.state.segmint.close()
