"""Clean and the quality report on CDNOW_master.txt, a purchase log without order ids.

Identical lines there (same customer, day, number of CDs and amount) can be two real
purchases, so clean keeps and reports them unless asked to drop them; the quality report counts
distinct values exactly and tells columns the file never had from empty ones. Expected numbers
are computed from the raw file with plain Python.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.clean import quality
from segmint.clean.report_html import render_quality_html
from segmint.cli.app import app
from tests.conftest import shared_file

runner = CliRunner()


@pytest.fixture(scope="module")
def truth() -> dict[str, float]:
    text = shared_file("cdnow", "CDNOW_master.txt").read_text()
    lines = [tuple(ln.split()) for ln in text.splitlines()[1:] if ln.strip()]
    repeats = {line: n - 1 for line, n in Counter(lines).items() if n > 1}
    return {
        "lines": len(lines),
        "customers": len({ln[0] for ln in lines}),
        "revenue": sum(float(ln[3]) for ln in lines),
        "identical": sum(repeats.values()),
        "identical_revenue": sum(float(line[3]) * n for line, n in repeats.items()),
        "identical_customers": len({line[0] for line in repeats}),
    }


@pytest.fixture
def cdnow(tmp_path) -> segmint.Workspace:
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    return ws


def test_identical_lines_without_order_id_are_kept_and_reported(cdnow, truth):
    result = cdnow.clean()
    orders = result.tables["orders"]
    same = orders["identical_lines"]
    assert (truth["identical"], truth["identical_customers"]) == (255, 164)
    assert same["rows"] == truth["identical"]
    assert same["customers"] == truth["identical_customers"]
    assert same["revenue"] == pytest.approx(truth["identical_revenue"], abs=0.005)
    assert round(same["revenue"], 2) == 4332.88 and same["kept"] is True
    assert orders["duplicates_removed"] == 0
    df = cdnow.table("orders").to_pandas()
    assert len(df) == orders["rows"] == truth["lines"]
    assert df.amount.sum() == pytest.approx(truth["revenue"], abs=0.005)
    report = cdnow.quality()
    assert report["tables"]["orders"]["identical_lines"]["rows"] == 255
    assert any("255 line(s) repeat" in n and "--drop-identical-lines" in n for n in report["notes"])


def test_drop_identical_lines_removes_them(cdnow, truth):
    result = cdnow.clean(drop_identical_lines=True)
    orders = result.tables["orders"]
    assert orders["duplicates_removed"] == truth["identical"]
    assert "identical_lines" not in orders
    df = cdnow.table("orders").to_pandas()
    assert len(df) == truth["lines"] - truth["identical"]
    assert df.amount.sum() == pytest.approx(
        truth["revenue"] - truth["identical_revenue"], abs=0.005
    )
    assert df.customer_id.nunique() == truth["customers"]  # every customer keeps a line


def test_cli_clean_keeps_by_default_and_drops_when_asked(tmp_path, truth):
    ws = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["ingest", str(shared_file("cdnow", "CDNOW_master.txt")), "-w", ws])
    kept = runner.invoke(app, ["clean", "-w", ws])
    assert kept.exit_code == 0, kept.output
    said = " ".join(kept.output.split())
    assert "255 line(s) repeat another line" in said and "4,332.88 of revenue" in said
    assert "164 customer(s)" in said and "--drop-identical-lines" in said
    dropped = runner.invoke(app, ["clean", "-w", ws, "--drop-identical-lines"])
    assert dropped.exit_code == 0, dropped.output
    with segmint.Workspace(ws) as w:
        assert w.table("orders").count().execute() == truth["lines"] - truth["identical"]


@pytest.mark.slow
def test_run_reports_kept_lines_and_the_spec_option_drops_them(tmp_path, truth):
    source = f"sources:\n  - path: {shared_file('cdnow', 'CDNOW_master.txt')}\n"
    rfm = "segmentations:\n  - {name: rfm, method: rfm}\n"
    for name, extra in (("kept", ""), ("dropped", "clean: {drop_identical_lines: true}\n")):
        spec, out = tmp_path / f"{name}.yaml", tmp_path / name
        spec.write_text(source + extra + rfm)
        r = runner.invoke(
            app, ["run", "--spec", str(spec), "-w", str(out / "w.duckdb"), "--out", str(out)]
        )
        assert r.exit_code == 0, r.output
        quality_json = json.loads((out / "quality" / "quality.json").read_text())
        report = json.loads((out / "report.json").read_text())
        said = [n for n in report["notes"] if "repeat another line" in n]
        if name == "kept":
            assert quality_json["tables"]["orders"]["duplicates_removed"] == 0
            assert len(said) == 1 and "255 line(s)" in said[0] and "4,332.88" in said[0]
        else:
            assert quality_json["tables"]["orders"]["duplicates_removed"] == truth["identical"]
            assert not said


def test_exact_duplicates_with_an_order_id_are_still_removed(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,10\nO1,C1,2024-01-02,10\n"
        "O2,C2,2024-01-03,5\n"
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(path)
    orders = ws.clean().tables["orders"]
    assert orders["duplicates_removed"] == 1 and orders["rows"] == 2
    assert "identical_lines" not in orders


def test_quality_report_counts_distinct_exactly_and_names_absent_columns(cdnow, truth):
    cdnow.clean()
    report = cdnow.quality()
    customers = report["tables"]["customers"]["columns"]
    orders = report["tables"]["orders"]["columns"]
    assert customers["customer_id"]["distinct"] == truth["customers"] == 23570
    assert orders["customer_id"]["distinct"] == truth["customers"]
    assert customers["customer_id"]["distinct_exact"] is True
    # never in the file: not a missing-value problem
    assert customers["email"]["in_source"] is False and orders["email"]["in_source"] is False
    assert orders["amount"]["in_source"] is True and orders["currency"]["in_source"] is True
    from segmint.clean.report_html import render_quality_html

    html = render_quality_html(report)
    assert "Not in source" in html
    missing_table, absent = html.split("Not in source", 1)
    assert "<code>email</code>" in absent
    # the orders' missing-value table lists only columns the file had
    orders_section = html[html.index("<code>orders</code>") :]
    rows = orders_section.split("Not in source", 1)[0]
    assert "<code>amount</code>" in rows and "<code>email</code>" not in rows
    assert "≈" not in missing_table


def test_present_but_empty_column_is_still_missing(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,age\nC1,,31\nC2,,40\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(path, into="customers")
    ws.clean()
    cols = ws.quality()["tables"]["customers"]["columns"]
    assert cols["email"]["in_source"] is True and cols["email"]["missing_share"] == 1.0
    assert cols["phone"]["in_source"] is False


def test_large_tables_get_labelled_estimates(cdnow, monkeypatch):
    monkeypatch.setattr(quality, "EXACT_DISTINCT_ROWS", 1000)
    report = cdnow.quality()
    col = report["tables"]["orders"]["columns"]["customer_id"]
    assert col["distinct_exact"] is False
    assert col["distinct"] == pytest.approx(23570, rel=0.1)  # HyperLogLog
    assert any("estimates" in n and "orders" in n for n in report["notes"])
    from segmint.clean.report_html import render_quality_html

    assert "≈ " in render_quality_html(report)


def test_gates_on_tables_the_source_never_had_say_not_checked(cdnow, truth):
    """CDNOW has order lines only: the duplicate gate reads the orders (with the identical
    lines it kept), never a 0-of-0 pass on the customers built from them; a gate whose every
    check saw no rows (e-mails, phones, countries) says "not checked: not in source"."""
    cdnow.clean()
    report = quality.build_report(cdnow.store)
    gates = {g["name"]: g for g in report["gates"]}
    dup = gates["max_duplicate_rows"]
    assert "0 of 0" not in dup["detail"]
    assert dup["detail"].startswith(f"orders.*: 0.0% (0 of {truth['lines']:,})")
    assert f"{truth['identical']:,} identical lines kept" in dup["detail"]
    assert "not in source: customers.*" in dup["detail"]
    emails = gates["max_invalid_emails"]
    assert emails["status"] == "not checked" and emails["observed"] is None
    assert emails["detail"].startswith("not checked: not in source")
    assert all("0 of 0" not in g["detail"] for g in report["gates"])
    html = Path(cdnow.quality(cdnow.path.parent / "q")["files"]["html"]).read_text()
    assert "Not checked" in html and "0 of 0" not in html


def test_a_generated_order_id_is_labelled_as_generated(cdnow):
    """CDNOW has no order id: segmint makes one per customer and day, and the quality report
    says so next to its counts, which match that rule counted from the raw file."""
    text = shared_file("cdnow", "CDNOW_master.txt").read_text()
    days = {tuple(ln.split()[:2]) for ln in text.splitlines()[1:] if ln.strip()}
    cdnow.clean()
    report = quality.build_report(cdnow.store)
    order_id = report["tables"]["orders"]["columns"]["order_id"]
    assert order_id["generated"].startswith("customer × order date")
    assert order_id["distinct"] == len(days) and order_id["missing"] == 0
    assert "generated" not in report["tables"]["orders"]["columns"]["customer_id"]
    assert any("orders.order_id is generated by segmint" in n for n in report["notes"])
    html = Path(cdnow.quality(cdnow.path.parent / "q")["files"]["html"]).read_text()
    assert "(generated: customer × order date/time)" in html


def test_checks_that_saw_no_rows_are_not_shown_as_passes(cdnow):
    cdnow.clean()
    report = quality.build_report(cdnow.store)
    html = render_quality_html(report)
    empty = [c for c in report["checks"] if c["n_checked"] == 0]
    assert any(c["table"] == "customers" and c["check"] == "duplicate_rows" for c in empty)
    unchecked = [g for g in report["gates"] if g.get("status") == "not checked"]
    assert html.count("not checked: not in source") == len(empty) + len(unchecked)
