"""Scheduled re-runs through the real parts: the cron parser (croniter), the pipeline, the
comparison, the command line (Typer's CliRunner), the server's poller and job worker, the REST
API and the web page. One small shop workspace with one segment run is built per module and
copied for each test, so every scheduled run has a run before it to be compared with; times are
fixed (``now=``) so that "due" does not depend on the clock."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint._run.schedule import (
    add_schedule,
    due_schedules,
    list_schedules,
    run_due,
    schedule_runs,
)
from segmint.api import Settings, create_app, first_admin_token
from segmint.cli import app
from segmint.exceptions import SegmintError, SpecError
from segmint.spec.model import load_spec
from tests.test_web import csrf_of, sign_in

SPEC = "segmentations:\n  - name: spend\n    method: rules\n    rules: {{Big: monetary_total > {big}, Regular: frequency >= 3}}\n"
#: a Monday, an hour before "0 6 * * 1" fires
T0 = datetime(2030, 1, 7, 5, 0)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the shop's orders and one segment run of SPEC (Big above 500)."""
    root = tmp_path_factory.mktemp("schedule")
    files = segmint.datasets.make_retail(300, seed=3).to_files(root / "data", format="csv")
    spec = root / "first.yaml"
    spec.write_text(
        f"sources:\n  - {{path: {files['orders']}, as: orders}}\n" + SPEC.format(big=500)
    )
    with segmint.Workspace(root / "base.duckdb") as ws:
        run_pipeline(ws, load_spec(spec), out_dir=root / "first-report")
    return root / "base.duckdb"


@pytest.fixture
def ws_path(base: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "shop.duckdb"
    shutil.copy(base, copy)
    return copy


def _spec(folder: Path, big: int, name: str = "spend.yaml") -> Path:
    path = folder / name
    path.write_text(SPEC.format(big=big))
    return path


def test_add_list_remove(ws_path, tmp_path):
    spec = _spec(tmp_path, 500)
    with segmint.Workspace(ws_path) as ws:
        first = add_schedule(ws, "0  6 * * 1", spec, user="maria", now=T0)
        second = ws.add_schedule("30 5 * * *", spec, out_dir=tmp_path / "reports")
        assert (first.schedule_id, second.schedule_id) == ("s0001", "s0002")
        assert first.cron == "0 6 * * 1" and first.created_by == "maria"
        assert first.next_run_at == datetime(2030, 1, 7, 6, 0)
        assert first.spec_path == str(spec.resolve()) and first.spec_text == spec.read_text()
        assert second.out_dir == str((tmp_path / "reports").resolve())
        assert [s.schedule_id for s in ws.schedules()] == ["s0001", "s0002"]
        assert ws.remove_schedule("s0001").schedule_id == "s0001"
        assert [s.schedule_id for s in ws.schedules()] == ["s0002"]
        with pytest.raises(SegmintError, match=r"no schedule 's0001'.*it has s0002"):
            ws.remove_schedule("s0001")


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 6 * *", "it has 4 fields"),
        ("0 6 * * 1 5", "it has 6 fields"),
        ("61 * * * *", "croniter says"),
        ("0 6 31 2 *", "croniter says"),  # 31 February never comes
        ("*/0 * * * *", "croniter says"),
    ],
)
def test_a_bad_cron_expression_is_a_clear_error(ws_path, tmp_path, cron, why):
    with segmint.Workspace(ws_path) as ws:
        with pytest.raises(SpecError) as err:
            ws.add_schedule(cron, _spec(tmp_path, 500))
        assert ws.schedules() == []
    text = str(err.value)
    assert f"'{cron}'" in text and why in text and '"0 6 * * 1" = Mondays at 06:00 UTC' in text


def test_a_spec_that_does_not_load_is_refused_when_added(ws_path, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("segmentations:\n  - {name: x, method: kmeanz}\n")
    with segmint.Workspace(ws_path) as ws:
        with pytest.raises(SpecError, match="kmeanz"):
            ws.add_schedule("0 6 * * 1", bad)
        with pytest.raises(SpecError, match="no spec file"):
            ws.add_schedule("0 6 * * 1", tmp_path / "missing.yaml")
        assert ws.schedules() == []


def test_run_due_runs_once_records_alerts_and_advances(ws_path, tmp_path):
    spec = _spec(tmp_path, 500)
    with segmint.Workspace(ws_path) as ws:
        base_run = [r["run_id"] for r in ws.runs() if r["kind"] == "segment"][-1]
        add_schedule(ws, "0 6 * * 1", spec, now=T0)
        assert run_due(ws, datetime(2030, 1, 7, 5, 59)) == []  # not yet
        [first] = run_due(ws, datetime(2030, 1, 7, 6, 0, 30))
        assert first.status == "ok" and first.error is None
        assert first.baseline_run_id == base_run  # identical data and rules: nothing moved
        assert first.alerts == [] and not first.crossed
        assert Path(first.report_dir or "", "report.html").exists()
        [s] = list_schedules(ws)
        assert s.next_run_at == datetime(2030, 1, 14, 6, 0) and s.last_run_at is not None
        assert run_due(ws, datetime(2030, 1, 7, 6, 0, 30)) == []  # done for this week
        # the spec is read again at each run: "Big" now starts at 1,500
        _spec(tmp_path, 1500)
        # two Mondays were missed (14th, 21st, 28th passed): it runs once, not three times
        [second] = run_due(ws, datetime(2030, 1, 30, 12, 0))
        assert second.status == "ok" and second.baseline_run_id == first.run_id
        assert second.crossed
        kinds = {(a["kind"], a["subject"]) for a in second.alerts}
        assert ("segment_size", "spend: Big") in kinds and ("moved_share", "spend") in kinds
        assert list_schedules(ws)[0].next_run_at == datetime(2030, 2, 4, 6, 0)
        assert due_schedules(ws, datetime(2030, 2, 4, 5, 59)) == []
        stored = schedule_runs(ws)
        assert [r.run_id for r in stored] == [second.run_id, first.run_id]
        assert stored[0].alerts == second.alerts and stored[0].crossed
        row = ws.store.db.execute(
            "SELECT count(*), count(*) FILTER (WHERE crossed) FROM schedule_runs"
        ).fetchone()
        assert row == (2, 1)


def test_a_failing_schedule_is_recorded_and_the_next_still_runs(ws_path, tmp_path):
    gone = _spec(tmp_path, 500, "gone.yaml")
    fine = _spec(tmp_path, 500, "fine.yaml")
    with segmint.Workspace(ws_path) as ws:
        add_schedule(ws, "0 6 * * 1", gone, now=T0)
        add_schedule(ws, "0 6 * * 1", fine, now=T0)
        gone.unlink()
        failed, ok = run_due(ws, datetime(2030, 1, 7, 7, 0))
        assert failed.status == "failed" and failed.run_id is None
        assert "There is no spec file" in (failed.error or "") and str(gone) in (failed.error or "")
        assert ok.status == "ok" and ok.run_id is not None
        # a failed run waits for its next time too (it is not retried at every check)
        assert [s.next_run_at for s in list_schedules(ws)] == [datetime(2030, 1, 14, 6, 0)] * 2
        assert [r.status for r in schedule_runs(ws)] == ["ok", "failed"]


runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


def test_cli_add_list_run_due_and_exit_codes(ws_path, tmp_path):
    w = str(ws_path)
    spec = _spec(tmp_path, 1500)
    bad = cli("schedule", "add", "0 6 * *", "--spec", str(spec), "-w", w)
    assert bad.exit_code == 2 and "'0 6 * *'" in bad.output and "Traceback" not in bad.output
    added = cli("schedule", "add", "0 6 * * 1", "--spec", str(spec), "-w", w)
    assert added.exit_code == 0, added.output
    assert "s0001" in added.output and "schedule run-due -w" in added.output  # the crontab line
    with segmint.Workspace(ws_path) as ws:  # one more, due since 2020
        add_schedule(ws, "0 6 * * 1", spec, now=datetime(2020, 1, 1))
    listed = json.loads(cli("schedule", "list", "--json", "-w", w).output)
    assert [s["schedule_id"] for s in listed] == ["s0001", "s0002"]
    assert all(s["last_run"] is None for s in listed)
    ran = cli("schedule", "run-due", "--json", "--fail-on-drift", "-w", w)
    assert ran.exit_code == 3, ran.output  # Big moved from 500 to 1,500: alerts
    [done] = json.loads(ran.stdout)
    assert done["schedule_id"] == "s0002" and done["crossed"] and done["alerts"]
    again = cli("schedule", "run-due", "--fail-on-drift", "-w", w)
    assert again.exit_code == 0 and "No schedule is due" in again.output
    table = cli("schedule", "list", "-w", w)
    assert table.exit_code == 0 and "alerts" in table.output and done["run_id"] in table.output
    gone = _spec(tmp_path, 500, "gone.yaml")
    with segmint.Workspace(ws_path) as ws:
        add_schedule(ws, "0 6 * * 1", gone, now=datetime(2020, 1, 1))
    gone.unlink()
    failed = cli("schedule", "run-due", "-w", w)
    assert failed.exit_code == 2 and "failed: " in failed.output and "no spec file" in failed.output
    removed = cli("schedule", "remove", "s0002", "-w", w)
    assert removed.exit_code == 0 and "Removed schedule s0002" in removed.output
    unknown = cli("schedule", "remove", "s0002", "-w", w)
    assert unknown.exit_code == 2 and "no schedule 's0002'" in unknown.output


@pytest.mark.parametrize("command", ["add", "list", "remove", "run-due"])
def test_each_schedule_command_has_teaching_help(command):
    result = cli("schedule", command, "--help")
    assert result.exit_code == 0 and len(" ".join(result.output.split())) > 300
    if command == "run-due":
        assert "*/15 * * * *" in result.output  # a crontab line to copy


class Server:
    """A server on a copy of the workspace checking for due schedules every 0.2 s."""

    def __init__(self, path: Path) -> None:
        self.app = create_app(Settings(workspace=path, schedule_poll_s=0.2))
        self.state = self.app.state.segmint
        self.client = TestClient(self.app)
        admin = first_admin_token(self.app)
        assert admin is not None
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = self.state.tokens.create(role, role)[1]

    def call(self, method: str, path: str, role: str = "analyst", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.request(method, path, headers=headers, **kw)


@pytest.fixture(scope="module")
def server(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    copy = tmp_path_factory.mktemp("server") / "shop.duckdb"
    shutil.copy(base, copy)
    s = Server(copy)
    with s.client:
        yield s
    s.state.close()


def test_the_server_runs_a_due_schedule_in_its_worker(server):
    ws = server.state.workspace()
    with server.state.write_lock:  # due since 2020; its spec is the default's text
        added = add_schedule(
            ws, "0 6 * * 1", spec_text=SPEC.format(big=500), user="cron", now=datetime(2020, 1, 1)
        )
    deadline = time.monotonic() + 120
    while not schedule_runs(ws, added.schedule_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    [run] = schedule_runs(ws, added.schedule_id)
    assert run.status == "ok", run.error
    time.sleep(0.6)  # more polls: it is not due any more, so it does not run again
    jobs = [j for j in server.state.jobs.list() if j["kind"] == "schedule"]
    assert len(jobs) == 1 and jobs[0]["status"] == "done" and jobs[0]["created_by"] == "cron"
    assert len(schedule_runs(ws, added.schedule_id)) == 1
    # the report is where the web app serves it
    report = server.call("GET", f"/api/v1/runs/{run.run_id}/report", "viewer")
    assert report.status_code == 200 and "<html" in report.text.lower()
    listed = server.call("GET", "/api/v1/schedules", "viewer").json()
    mine = next(s for s in listed if s["schedule_id"] == added.schedule_id)
    assert mine["last_run"]["run_id"] == run.run_id and mine["spec_path"] is None
    runs = server.call("GET", f"/api/v1/schedules/{added.schedule_id}/runs", "viewer").json()
    assert [r["run_id"] for r in runs] == [run.run_id]


def test_rest_api_adds_lists_and_removes_schedules(server):
    bad = server.call("POST", "/api/v1/schedules", json={"cron": "0 6 * *"})
    assert bad.status_code == 400 and "'0 6 * *'" in bad.json()["detail"]
    sourced = server.call(
        "POST",
        "/api/v1/schedules",
        json={"cron": "0 6 * * 1", "spec": "sources:\n  - {path: /etc/passwd, as: customers}\n"},
    )
    assert sourced.status_code == 400 and "sources:" in sourced.json()["problem"]
    made = server.call("POST", "/api/v1/schedules", json={"cron": "0 6 * * 1", "spec": ""})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["created_by"] == "analyst" and body["next_run_at"] > body["created_at"]
    sid = body["schedule_id"]
    assert sid in [
        s["schedule_id"] for s in server.call("GET", "/api/v1/schedules", "viewer").json()
    ]
    assert server.call("GET", f"/api/v1/schedules/{sid}/runs", "viewer").json() == []
    assert server.call("DELETE", f"/api/v1/schedules/{sid}").status_code == 200
    assert server.call("DELETE", f"/api/v1/schedules/{sid}").status_code == 404
    assert server.call("GET", f"/api/v1/schedules/{sid}/runs", "viewer").status_code == 404


def test_web_page_lists_adds_and_removes(server):
    client = TestClient(server.app)
    sign_in(client, server.tokens["analyst"])
    page = client.get("/schedules")
    assert page.status_code == 200 and 'href="/schedules"' in page.text
    token = csrf_of(page.text)
    bad = client.post("/schedules", data={"csrf": token, "cron": "61 * * * *", "spec": ""})
    assert bad.status_code == 400 and "croniter says" in bad.text
    assert 'value="61 * * * *"' in bad.text  # the value typed is kept
    added = client.post("/schedules", data={"csrf": token, "cron": "30 5 * * *", "spec": ""})
    assert added.status_code == 200 and "Added s" in added.text
    sid = added.text.split('data-schedule-id="', 1)[1].split('"', 1)[0]
    assert f'action="/schedules/{sid}/remove"' in added.text
    forged = client.post(f"/schedules/{sid}/remove", data={"csrf": "nope"})
    assert forged.status_code == 403
    removed = client.post(f"/schedules/{sid}/remove", data={"csrf": token})
    assert removed.status_code == 200 and f"Removed {sid}" in removed.text
    viewer = TestClient(server.app)
    sign_in(viewer, server.tokens["viewer"])
    seen = viewer.get("/schedules")
    assert seen.status_code == 200 and "Add a schedule" not in seen.text
