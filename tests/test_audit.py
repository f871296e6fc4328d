"""The audit log from the command line and Python: who (the OS user), from where (cli /
python), what; `segmint audit` and its filters; no customer data in the log; the report-file
log after `segmint run --out`. The server's side: tests/test_audit_server.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.privacy.audit import acting_as, current_actor, os_user
from segmint.privacy.reports import report_paths

runner = CliRunner()


@dataclass
class Shop:
    root: Path
    workspace: Path
    files: dict[str, Path]
    report: Path


def cli(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The sample shop imported, cleaned, segmented and exported through the CLI."""
    root = tmp_path_factory.mktemp("audit")
    files = segmint.datasets.make_retail(200, seed=3).to_files(root / "data", format="csv")
    ws = root / "shop.duckdb"
    cli("ingest", files["customers"], "--as", "customers", "-w", ws)
    cli("ingest", files["orders"], "-w", ws)
    cli("clean", "-w", ws, "--report-dir", root / "quality")
    report = root / "report"
    cli("run", "--out", report, "-w", ws)
    with segmint.Workspace(ws, read_only=True) as w:
        label = w.store.db.execute(
            "SELECT segment FROM segment_assignments WHERE segmentation = 'rfm' "
            "GROUP BY segment ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    out = root / "audience.csv"
    cli("export", "--segmentation", "rfm", "--segment", label, "--to", "csv", "--out", out,
        "-w", ws)  # fmt: skip
    yield Shop(root, ws, files, report)


def rows(shop: Shop, **filters: object) -> list[dict]:
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        return ws.audit(**filters)  # type: ignore[arg-type]


def test_every_cli_change_leaves_a_row_with_the_os_user_and_cli(shop: Shop) -> None:
    log = rows(shop)
    actions = [e["action"] for e in reversed(log)]  # oldest first
    # two imports, the clean, then the run's features and segments, then the export
    assert actions[:3] == ["ingest", "ingest", "clean"]
    assert actions.index("features") < actions.index("run") < actions.index("export")
    assert {e["actor"] for e in log} == {os_user()}
    assert {e["origin"] for e in log} == {"cli"}
    ingests = [e for e in log if e["action"] == "ingest"]
    assert {e["detail"]["table"] for e in ingests} == {"customers", "orders"}
    assert all(e["detail"]["rows"] > 0 for e in ingests)
    export = next(e for e in log if e["action"] == "export")
    assert export["detail"]["destination"] == "csv" and export["detail"]["rows"] > 0
    # each row names what it acted on: the runs and the export of the log
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        run_ids = {r["run_id"] for r in ws.runs()}
        export_ids = {e.export_id for e in ws.exports()}
    assert {e["target"] for e in log if e["action"] != "export"} <= run_ids
    assert export["target"] in export_ids


def test_python_is_the_origin_from_python(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\n1,C1,2024-01-02,10\n")
    assert current_actor().origin == "python"
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(orders)
        with acting_as("nightly-job", "cron"):
            ws.clean()
        log = ws.audit()
    assert [(e["action"], e["actor"], e["origin"]) for e in log] == [
        ("clean", "nightly-job", "cron"),
        ("ingest", os_user(), "python"),
    ]


def test_audit_since_and_action_filter(shop: Shop) -> None:
    log = rows(shop)
    clean = next(e for e in log if e["action"] == "clean")
    since = clean["logged_at"].isoformat()
    out = json.loads(cli("audit", "--since", since, "--json", "-w", shop.workspace))
    assert out and all(e["logged_at"] >= since for e in out)
    assert "ingest" not in {e["action"] for e in out} and "clean" in {e["action"] for e in out}
    assert len(out) == sum(1 for e in log if e["logged_at"] >= clean["logged_at"])
    tomorrow = (datetime.now() + timedelta(days=2)).date().isoformat()
    assert json.loads(cli("audit", "--since", tomorrow, "--json", "-w", shop.workspace)) == []
    only = json.loads(cli("audit", "--action", "ingest", "--json", "-w", shop.workspace))
    assert [e["action"] for e in only] == ["ingest", "ingest"]
    assert len(json.loads(cli("audit", "--limit", "2", "--json", "-w", shop.workspace))) == 2
    table = cli("audit", "-w", shop.workspace)
    assert "Audit log" in table and "export" in table and os_user() in table


def test_a_bad_since_is_a_user_error(shop: Shop) -> None:
    result = runner.invoke(app, ["audit", "--since", "last tuesday", "-w", str(shop.workspace)])
    assert result.exit_code == 2
    assert "is not a date" in result.output and "Traceback" not in result.output


def test_the_log_holds_no_customer_data(shop: Shop) -> None:
    customers = pd.read_csv(shop.files["customers"], dtype=str)
    secrets = {
        *customers["customer_id"],
        *customers["email"].dropna(),
        *customers["phone"].dropna(),
        *customers["last_name"].dropna(),
    }
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        text = "\n".join(
            "\t".join(str(v) for v in row)
            for row in ws.store.db.execute("SELECT * FROM audit_log").fetchall()
        )
    assert len(text) > 500  # the log is there
    found = sorted(s for s in secrets if s and s in text)
    assert found == []


def test_report_files_lists_the_run_report(shop: Shop) -> None:
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        logged = report_paths(ws.store.db)
        run_id = [r["run_id"] for r in ws.runs() if r["kind"] == "segment"][-1]
    by_path = {Path(p): (kind, run) for p, kind, run in logged}
    for name in ("report.html", "report.json"):
        assert by_path[(shop.report / name).resolve()] == ("run", run_id)
    for name in ("quality.html", "quality.json"):  # the clean's and the run's quality reports
        assert by_path[(shop.root / "quality" / name).resolve()][0] == "quality"
        assert by_path[(shop.report / "quality" / name).resolve()][0] == "quality"
    assert all(Path(p).exists() for p in by_path)


def test_a_report_written_from_a_read_only_workspace_is_logged(shop: Shop) -> None:
    out = shop.root / "again"
    cli("quality", "--out", out, "-w", shop.workspace)  # opens the workspace read-only
    with segmint.Workspace(shop.workspace, read_only=True) as ws:
        logged = {Path(p): kind for p, kind, _ in report_paths(ws.store.db)}
    assert logged[(out / "quality.html").resolve()] == "quality"
    assert logged[(out / "quality.json").resolve()] == "quality"
