"""Files without a header row: detected, refused with how to name the columns, then read.

CDNOW_sample.txt (Fader & Hardie's 1/10 sample) has no header: its first purchase used to be
read as column names. Expected counts come from the raw file with plain Python.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli.app import app
from segmint.exceptions import MappingError, SpecError
from segmint.ingest.header import looks_headerless
from segmint.ingest.sniff import sniff
from tests.conftest import shared_file

runner = CliRunner()
SAMPLE_COLUMNS = ["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"]


@pytest.fixture(scope="module")
def sample_lines() -> list[list[str]]:
    text = shared_file("cdnow", "CDNOW_sample.txt").read_text()
    return [ln.split() for ln in text.splitlines() if ln.strip()]


def test_cdnow_sample_is_refused_with_how_to_name_the_columns(tmp_path, sample_lines):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    with pytest.raises(MappingError) as info:
        ws.ingest(shared_file("cdnow", "CDNOW_sample.txt"))
    text = str(info.value)
    assert "no header row" in text
    assert " | ".join(sample_lines[0]) in text  # the first line, shown as found
    assert "--no-header --columns name1,name2,name3,name4,name5" in text
    assert "header=False" in text and "--map customer_id=1" in text
    assert not ws.store.has_table("orders")  # nothing was imported


def test_cdnow_sample_imports_with_no_header_and_columns(tmp_path, sample_lines):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(shared_file("cdnow", "CDNOW_sample.txt"), header=False, columns=SAMPLE_COLUMNS)
    assert res.format == "cdnow:orders"
    df = ws.table("orders").to_pandas()
    assert len(df) == len(sample_lines) == 6919  # the first purchase is kept
    assert df.customer_id.nunique() == len({ln[0] for ln in sample_lines}) == 2357
    assert round(df.amount.sum(), 2) == round(sum(float(ln[4]) for ln in sample_lines), 2)
    first = df.sort_values("_row").iloc[0]
    assert (first.customer_id, first._row) == (sample_lines[0][0], 1)
    assert first.sample_id == sample_lines[0][1]  # unmapped: kept as an extra attribute


def test_cli_refuses_then_imports_with_no_header_columns(tmp_path, sample_lines):
    path = str(shared_file("cdnow", "CDNOW_sample.txt"))
    ws = str(tmp_path / "w.duckdb")
    refused = runner.invoke(app, ["ingest", path, "-w", ws])
    assert refused.exit_code == 2
    assert "--no-header --columns" in refused.output and "Traceback" not in refused.output
    ok = runner.invoke(
        app, ["ingest", path, "-w", ws, "--no-header", "--columns", ",".join(SAMPLE_COLUMNS)]
    )
    assert ok.exit_code == 0, ok.output
    assert f"Imported {len(sample_lines):,} rows into orders" in ok.output


def test_no_header_maps_by_position(tmp_path, sample_lines):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    mapping = {"customer_id": "1", "ordered_at": "3", "quantity": "4", "amount": "5"}
    ws.ingest(shared_file("cdnow", "CDNOW_sample.txt"), header=False, mapping=mapping)
    df = ws.table("orders").to_pandas()
    assert len(df) == len(sample_lines)
    assert df.quantity.sum() == sum(int(ln[3]) for ln in sample_lines)
    assert "column_2" in df.columns  # the unmapped sample id, by its position


def test_spec_source_options_give_the_columns(tmp_path, sample_lines):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"sources:\n  - path: {shared_file('cdnow', 'CDNOW_sample.txt')}\n"
        f"    options: {{header: false, columns: [{', '.join(SAMPLE_COLUMNS)}]}}\n"
    )
    r = runner.invoke(app, ["ingest", "--spec", str(spec), "-w", str(tmp_path / "w.duckdb")])
    assert r.exit_code == 0, r.output
    assert f"Imported {len(sample_lines):,} rows" in r.output


def test_wrong_number_of_columns_and_columns_without_no_header(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    path = shared_file("cdnow", "CDNOW_sample.txt")
    with pytest.raises(MappingError, match=r"gives 3 names .* rows have 5 fields"):
        ws.ingest(path, header=False, columns=["a", "b", "c"])
    with pytest.raises(SpecError, match="--no-header"):
        ws.ingest(path, columns=SAMPLE_COLUMNS)


def test_header_true_keeps_a_numeric_first_row_as_names(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("2022,2023\n1,2\n3,4\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    with pytest.raises(MappingError, match="no header row"):
        ws.ingest(path, into="customers")
    # read with header: the years are column names; without an id the rows are numbered
    result = ws.ingest(path, into="customers", header=True)
    assert set(result.extras) == {"c_2022", "c_2023"}
    rows = ws.table("customers").to_pandas().sort_values("customer_id")
    assert rows.customer_id.tolist() == ["1", "2"] and rows.c_2022.tolist() == [1, 3]


@pytest.mark.parametrize(
    ("folder", "name", "headerless"),
    [
        ("cdnow", "CDNOW_master.txt", False),
        ("cdnow", "CDNOW_sample.txt", True),
        ("cdnow", "cdnow_customers_summary.csv", False),
        ("hillstrom_email_2008", "hillstrom.csv", False),
        ("twitter_us_airline_sentiment", "Tweets.csv", False),
        ("dedupe_patstat_applicants", "patstat_input.csv", False),
        ("dedupe_patstat_applicants", "patstat_reference.csv", False),
        ("dedupe_chicago_early_childhood", "csv_example_input_with_true_ids.csv", False),
        ("uci_sentiment_labelled_sentences", "amazon_cells_labelled.txt", True),
        ("uci_sentiment_labelled_sentences", "yelp_labelled.txt", True),
    ],
)
def test_detection_on_every_real_text_file(folder: str, name: str, headerless: bool):
    """Files with a header keep it; the two kinds of header-less files are caught."""
    assert sniff(str(shared_file(folder, name))).headerless is headerless


def test_text_only_columns_keep_their_first_row():
    """Nothing tells names from values when every column is text: the header is kept."""
    assert not looks_headerless([["alice", "berlin"], ["bob", "paris"], ["cy", "rome"]])
    assert looks_headerless([["C1", "2024-01-02", "10.5"], ["C2", "2024-01-03", "7"]])
    assert not looks_headerless([["id", "date", "amount"], ["C2", "2024-01-03", "7"]])
    # an empty header cell over numbers (a saved pandas index) is still a header
    assert not looks_headerless([["", "amount"], ["0", "7"], ["1", "8"]])


def test_no_header_is_refused_for_typed_sources(tmp_path: Path):
    path = tmp_path / "o.json"
    path.write_text('[{"customer_id": "C1", "ordered_at": "2024-01-02", "amount": 3}]')
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    with pytest.raises(SpecError, match="apply to text files"):
        ws.ingest(path, header=False)


@pytest.mark.slow
def test_run_reads_a_file_without_header_with_no_header_columns(tmp_path, sample_lines):
    spec = tmp_path / "rfm.yaml"
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    args = ["run", str(shared_file("cdnow", "CDNOW_sample.txt")), "--spec", str(spec)]
    args += ["-w", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out")]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--no-header --columns" in refused.output
    ok = runner.invoke(app, [*args, "--no-header", "--columns", ",".join(SAMPLE_COLUMNS)])
    assert ok.exit_code == 0, ok.output
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.table("orders").count().execute() == len(sample_lines)


def test_csv_without_header_keeps_its_first_row(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("C1,2024-01-02,10.50\nC2,2024-01-03,7\nC1,2024-02-01,3.25\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    with pytest.raises(MappingError, match="no header row"):
        ws.ingest(path)
    ws.ingest(path, header=False, columns=["customer_id", "ordered_at", "amount"])
    df = ws.table("orders").to_pandas().sort_values("_row")
    assert df.customer_id.tolist() == ["C1", "C2", "C1"]
    assert df.amount.tolist() == [10.5, 7.0, 3.25]
