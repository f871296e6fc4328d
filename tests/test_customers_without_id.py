"""Customers files without an id column (Hillstrom, UCI Wholesale) segment with a zero-config
``segmint run``: each row is one customer, numbered 1…N as ``customer_id``, and the output says
so. A missing id is never "found" in a 0/1 outcome column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.ingest.mapping import ROW_ID_NOTE
from segmint.web.mapping import mapping_view
from tests.conftest import shared_file

runner = CliRunner()
HILLSTROM_ROWS = 3000  # the file's first rows, byte for byte: fast, and the same layout


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hillstrom_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = shared_file("hillstrom_email_2008", "hillstrom.csv").read_text().splitlines(True)
    path = tmp_path_factory.mktemp("hillstrom") / "hillstrom.csv"
    path.write_text("".join(lines[: HILLSTROM_ROWS + 1]))
    return path


def _run(tmp_path: Path, *args: str) -> tuple[str, dict, segmint.Workspace]:
    ws, out = tmp_path / "w.duckdb", tmp_path / "rep"
    result = runner.invoke(app, ["run", *args, "-w", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    return flat(result.output), report, segmint.Workspace(ws)


def test_hillstrom_without_an_id_runs_zero_config_on_its_attributes(hillstrom_head, tmp_path):
    output, report, ws = _run(tmp_path, str(hillstrom_head))
    assert "MappingError" not in output and "conversion'?" not in output
    assert flat(ROW_ID_NOTE) in output  # said plainly in the terminal …
    assert any(ROW_ID_NOTE in n for n in report["notes"])  # … and in the report
    customers = ws.table("customers").to_pandas()
    assert len(customers) == HILLSTROM_ROWS == customers.customer_id.nunique()
    # ids are the data rows: row k of the file is customer "k" (deterministic)
    first = customers.set_index("customer_id").loc["1"]
    assert first["history"] == pytest.approx(142.44) and first["womens"] == 0
    (seg,) = report["segmentations"]
    assert seg["method"] == "kmeans" and seg["n_customers"] == HILLSTROM_ROWS
    assert {"history", "mens", "womens", "newbie"} <= set(seg["features"])
    ws.close()


def test_wholesale_without_an_id_runs_zero_config_on_its_spend_columns(tmp_path):
    path = shared_file("uci_wholesale_customers", "Wholesale customers data.csv")
    output, report, ws = _run(tmp_path, str(path))
    assert "each row is read as one customer" in output and flat(ROW_ID_NOTE) in output
    assert "orders" not in ws.tables()  # Channel is an attribute, not a sales channel
    customers = ws.table("customers").to_pandas()
    assert sorted(customers.customer_id.astype(int)) == list(range(1, 441))
    assert set(customers.channel.astype(str)) == {"1", "2"}
    (seg,) = report["segmentations"]
    assert {"fresh", "milk", "grocery", "detergents_paper"} <= set(seg["features"])
    assert "channel" not in seg["features"]  # a code, profiled as a category
    assert len(seg["profiles"]["segments"]) >= 2
    ws.close()


def test_a_missing_id_is_not_looked_for_in_a_0_1_column(hillstrom_head, tmp_path):
    """As order lines Hillstrom lacks a customer id: the error must not offer 'conversion'."""
    result = runner.invoke(
        app,
        ["ingest", str(hillstrom_head), "--as", "orders", "-w", str(tmp_path / "w.duckdb")],
    )
    assert result.exit_code != 0
    text = flat(result.output)
    assert "MappingError" in text and "customer_id" in text
    assert "is it 'conversion'?" not in text and "is it 'visit'?" not in text


def test_a_mostly_distinct_look_alike_is_still_offered(tmp_path):
    path = tmp_path / "orders.csv"
    rows = [f"C{i % 50},2024-01-{1 + i % 28:02d},{10 + i}" for i in range(200)]
    path.write_text("customer_ident,order_date,amount\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["ingest", str(path), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code != 0
    assert "is it 'customer_ident'?" in flat(result.output)


def test_run_takes_as_and_map_for_its_files(tmp_path):
    path = shared_file("uci_wholesale_customers", "Wholesale customers data.csv")
    help_text = flat(runner.invoke(app, ["run", "--help"], terminal_width=200).output)
    assert "--map" in help_text and "--as" in help_text
    output, _report, ws = _run(tmp_path, str(path), "--as", "customers", "--map", "region=Channel")
    assert "each row is read as one customer" not in output  # the table was named
    customers = ws.table("customers").to_pandas()
    assert set(customers.region.astype(str)) == {"1", "2"}  # Channel's codes, as asked
    ws.close()


def test_the_web_mapping_screen_does_not_ask_a_customers_file_for_an_id():
    path = shared_file("uci_wholesale_customers", "Wholesale customers data.csv")
    headers = pd.read_csv(path, nrows=0).columns.tolist()
    view = mapping_view({"headers": headers}, None)
    assert view["table"] == "customers" and view["missing"] == []
    id_row = next(c for c in view["columns"] if c["name"] == "customer_id")
    assert id_row["required"].startswith("Optional") and not id_row["needed"]
    assert mapping_view({"headers": headers}, "orders")["missing"]  # orders still need theirs
