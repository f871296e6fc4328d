"""The command line: help that teaches, the whole flow, documented commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.ingest.formats import families

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_top_level_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("ingest", "clean", "quality", "features", "status", "demo"):
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_teaching_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(flat(result.output)) > 200


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"segmint {command}" in readme, f"README does not show `segmint {command}`"


def test_formats_lists_every_family():
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    for fam in families():
        assert fam in result.output


def test_ingest_clean_quality_features_status_flow(tmp_path):
    ws = tmp_path / "shop.duckdb"
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Invoice,Customer,Date,Total,Country\n1,C1,2024-01-02,10,UK\n"
        "2,C2,2024-01-05,20,EIRE\n3,C1,2024-02-01,5,UK\n3,C1,2024-02-01,5,UK\n"
    )
    r = runner.invoke(app, ["ingest", str(orders), "-w", str(ws), "--map", "customer_id=Customer"])
    assert r.exit_code == 0, r.output
    assert "Imported 4 rows into orders" in flat(r.output)
    r = runner.invoke(app, ["clean", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    out = flat(r.output)
    assert "quality.html" in out and "segmint features" in out
    report_dir = tmp_path / "shop-quality"
    data = json.loads((report_dir / "quality.json").read_text())
    assert data["tables"]["orders"]["duplicates_removed"] == 1
    r = runner.invoke(app, ["quality", "-w", str(ws), "--out", str(tmp_path / "q")])
    assert r.exit_code == 0 and (tmp_path / "q" / "quality.html").exists()
    r = runner.invoke(
        app, ["features", "-w", str(ws), "--as-of", "2024-02-01", "--out", str(tmp_path / "f.csv")]
    )
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("customer_id,recency_days,frequency")
    r = runner.invoke(app, ["status", "-w", str(ws)])
    assert r.exit_code == 0
    out = flat(r.output)
    assert "0001-ingest" in out and "0002-clean" in out and "customer_features" in out


def test_status_of_missing_workspace_explains(tmp_path):
    r = runner.invoke(app, ["status", "-w", str(tmp_path / "nope.duckdb")])
    assert r.exit_code == 2
    assert "no workspace" in flat(r.output) and "segmint ingest" in flat(r.output)


def test_bad_option_values_are_user_errors(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\nA,C,2024-01-01,1\n")
    r = runner.invoke(
        app, ["ingest", str(f), "-w", str(tmp_path / "w.duckdb"), "--max-invalid", "dates=lots"]
    )
    assert r.exit_code == 2 and "not a number" in flat(r.output)
    r = runner.invoke(
        app, ["ingest", str(f), "-w", str(tmp_path / "w.duckdb"), "--format", "shopifyy"]
    )
    assert r.exit_code == 2 and "Unknown format 'shopifyy'" in flat(r.output)
    r = runner.invoke(app, ["ingest", str(f), "-w", str(tmp_path / "w.duckdb"), "--as", "order"])
    assert r.exit_code == 2 and "not a table" in flat(r.output)


def test_console_script_runs_as_a_real_process(tmp_path):
    exe = Path(sys.executable).parent / "segmint"
    proc = subprocess.run(
        [str(exe), "status", "-w", str(tmp_path / "x.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "WorkspaceError" in proc.stderr
