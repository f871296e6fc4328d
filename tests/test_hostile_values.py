"""Hostile values and workbook/JSON/Parquet structures: counted, gated or refused, never silent.

Issue 18, items 4 and 5. The hostile files are made here from the first 400 lines of the real
UCI Online Retail workbook (read with fastexcel, written back with csv/openpyxl/pyarrow), with
a few cells made hostile: ``inf`` prices, dates in the years 9999 and 0001, formulas without a
saved result, a title row, an empty first sheet. Each case either imports with the bad values
counted (row, column, reason in ``quality_issues``) or exits 2 with a message naming file,
row/column and fix, no traceback, and the workspace unchanged.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import InputError, QualityGateError, SpecError
from segmint.features import resolve_as_of
from segmint.ingest.coerce import plausible_range
from segmint.ingest.header import header_row
from tests.conftest import shared_file, snapshot

HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
N = 400


@pytest.fixture(scope="module")
def retail() -> list[list[Any]]:
    """The first 400 order lines of the real Online Retail workbook, as Python values."""
    import fastexcel

    path = shared_file("uci_online_retail_head", "Online Retail.xlsx")
    table = fastexcel.read_excel(path).load_sheet(0, n_rows=N).to_arrow()
    rows = []
    for r in table.to_pylist():
        row = [r[h] for h in HEADER]
        row[0] = str(int(row[0])) if isinstance(row[0], float) else str(row[0])
        row[6] = None if row[6] is None else str(int(row[6]))
        rows.append(row)
    return rows


def _csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for r in rows:
            w.writerow(
                [v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else v for v in r]
            )
    return path


def _with(rows: list[list[Any]], col: str, values: dict[int, Any]) -> list[list[Any]]:
    """A copy of ``rows`` with column ``col`` set at the given 0-based data rows."""
    i = HEADER.index(col)
    out = [list(r) for r in rows]
    for k, v in values.items():
        out[k][i] = v
    return out


@pytest.fixture
def seeded(tmp_path: Path, retail: list[list[Any]]) -> Path:
    """A workspace that already holds one good import of the real lines."""
    path = tmp_path / "ws" / "shop.duckdb"
    with segmint.Workspace(path) as ws:
        ws.ingest(_csv(tmp_path / "good.csv", retail[:50]))
    return path


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args])
    # Rich wraps lines inside a box; compare on single spaces, without the box
    result.flat = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())
    return result


def _refused(args: list[str], seeded: Path, *phrases: str) -> str:
    """Run a command that must fail: exit 2, no traceback, a fix, the workspace unchanged."""
    before = snapshot(seeded)
    result = _cli(*args, "-w", str(seeded))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "How to fix:" in result.flat
    for phrase in phrases:
        assert phrase in result.flat, f"{phrase!r} not in: {result.flat}"
    assert snapshot(seeded) == before
    return str(result.flat)


def _issues(ws_path: Path) -> list[tuple[int, str, str, str]]:
    with segmint.Workspace(ws_path) as ws:
        rows = ws.store.db.execute(
            'SELECT "row", column_name, value, reason FROM quality_issues ORDER BY "row"'
        ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


# --- numbers -------------------------------------------------------------------------------

HOSTILE_PRICES = {10: "inf", 20: "-inf", 30: "1e999", 40: "Infinity", 50: "NaN", 60: "9" * 5000}


def test_non_finite_prices_are_counted_with_their_rows(tmp_path: Path, retail: list) -> None:
    bad = _csv(tmp_path / "prices.csv", _with(retail, "UnitPrice", HOSTILE_PRICES))
    ws_path = tmp_path / "w.duckdb"
    result = _cli("ingest", str(bad), "-w", str(ws_path))
    assert result.exit_code == 0, result.output
    issues = _issues(ws_path)
    assert [(r, c) for r, c, _v, _w in issues] == [(k + 1, "unit_price") for k in HOSTILE_PRICES]
    assert all("not a finite number" in why for *_x, why in issues)
    with segmint.Workspace(ws_path) as ws:
        (n_bad, non_finite) = ws.store.db.execute(
            "SELECT count(*) FILTER (WHERE unit_price IS NULL), "
            "count(*) FILTER (WHERE NOT isfinite(unit_price) OR NOT isfinite(amount)) FROM orders"
        ).fetchall()[0]
        assert (n_bad, non_finite) == (len(HOSTILE_PRICES), 0)
        ws.clean()
        features = ws.features().to_pandas()
    numeric = features.select_dtypes("number")
    assert not numeric.isin([math.inf, -math.inf]).any().any()


def test_mostly_infinite_prices_fail_the_gate_and_change_nothing(
    tmp_path: Path, seeded: Path, retail: list
) -> None:
    bad = _csv(
        tmp_path / "prices.csv", _with(retail, "UnitPrice", dict.fromkeys(range(0, N, 2), "inf"))
    )
    _refused(
        ["ingest", str(bad)],
        seeded,
        "prices.csv",
        "column 'UnitPrice'",
        "200 of 400",
        "row 1: 'inf'",
        "max_invalid_numbers",
    )


def test_infinite_values_in_an_extra_column_are_counted(tmp_path: Path, retail: list) -> None:
    rows = [[*r, "inf" if i == 5 else 1.5 * i] for i, r in enumerate(retail)]
    path = tmp_path / "extra.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*HEADER, "Weight"])
        w.writerows(rows)
    ws_path = tmp_path / "w.duckdb"
    with segmint.Workspace(ws_path) as ws:
        res = ws.ingest(path)
        assert res.extras["weight"] == "DOUBLE"
        (chk,) = [c for c in res.checks if c["column"] == "weight"]
        assert (chk["n_bad"], chk["n_checked"]) == (1, N)
    assert _issues(ws_path) == [
        (6, "weight", "inf", "not a finite number (inf, NaN, or beyond ±1.8e308) (column 'Weight')")
    ]


def test_parquet_inf_nan_and_out_of_range_epochs_are_counted(tmp_path: Path, retail: list) -> None:
    prices = [float(r[5]) for r in retail]
    prices[3], prices[7] = math.inf, math.nan
    epochs = [r[4].timestamp() for r in retail]
    epochs[9] = 1e300  # an epoch no timestamp can hold (was a ConversionException traceback)
    table = pa.table(
        {
            "order_id": [r[0] for r in retail],
            "customer_id": [r[6] for r in retail],
            "ordered_at": pa.array(epochs, pa.float64()),
            "quantity": [float(r[3]) for r in retail],
            "unit_price": pa.array(prices, pa.float64()),
        }
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    ws_path = tmp_path / "w.duckdb"
    with segmint.Workspace(ws_path) as ws:
        res = ws.ingest(path, into="orders")
    bad = {c["column"]: c["n_bad"] for c in res.checks}
    assert bad["unit_price"] == 2 and bad["ordered_at"] == 1
    assert {(r, c) for r, c, _v, _w in _issues(ws_path)} == {
        (4, "unit_price"),
        (8, "unit_price"),
        (10, "ordered_at"),
    }


def test_clean_and_features_refuse_infinite_values_already_in_a_workspace(
    tmp_path: Path, retail: list
) -> None:
    """A workspace filled before the rule (here: written by hand) cannot reach scikit-learn."""
    ws_path = tmp_path / "w.duckdb"
    with segmint.Workspace(ws_path) as ws:
        ws.ingest(_csv(tmp_path / "o.csv", retail))
    db = duckdb.connect(str(ws_path))
    db.execute("UPDATE orders SET amount = 'inf'::DOUBLE WHERE _row = 7")
    db.close()
    for step in ("clean", "features"):
        _refused(
            [step],
            ws_path,
            "orders.amount",
            "not finite",
            "source row 7: inf",
            f"segmint {step} stopped before writing anything",
            "--replace",
        )
    with segmint.Workspace(ws_path) as ws, pytest.raises(InputError, match=r"orders\.amount"):
        ws.features()


# --- dates ---------------------------------------------------------------------------------


def test_dates_in_9999_and_0001_are_counted_and_cannot_set_the_as_of(
    tmp_path: Path, retail: list
) -> None:
    rows = _with(retail, "InvoiceDate", {5: "9999-12-31 00:00:00", 6: "0001-01-01 00:00:00"})
    ws_path = tmp_path / "w.duckdb"
    result = _cli("ingest", str(_csv(tmp_path / "dates.csv", rows)), "-w", str(ws_path))
    assert result.exit_code == 0, result.output
    lo, hi = plausible_range()
    assert [(r, c, v) for r, c, v, _w in _issues(ws_path)] == [
        (6, "ordered_at", "9999-12-31 00:00:00"),
        (7, "ordered_at", "0001-01-01 00:00:00"),
    ]
    assert all(f"from {lo} to {hi}" in why for *_x, why in _issues(ws_path))
    real_last = max(r[4] for i, r in enumerate(retail) if i not in (5, 6))
    with segmint.Workspace(ws_path) as ws:
        ws.features(families=["behavioral"])
        as_of = ws.runs()[-1]["spec"]["as_of"]
    assert datetime.fromisoformat(as_of) == real_last


def test_all_dates_implausible_fail_the_gate(tmp_path: Path, seeded: Path, retail: list) -> None:
    rows = _with(retail, "InvoiceDate", dict.fromkeys(range(N), "9999-12-31 00:00:00"))
    _refused(
        ["ingest", str(_csv(tmp_path / "future.csv", rows))],
        seeded,
        "future.csv",
        "column 'InvoiceDate'",
        "400 of 400",
        "not a date/time from 1900-01-01",
        "max_invalid_dates",
    )


def test_birth_dates_may_be_old_but_not_before_1850_or_in_the_future(tmp_path: Path) -> None:
    tomorrow = date.today() + timedelta(days=2)
    births = ["1890-05-01", "1975-03-02", "1849-12-31", tomorrow.isoformat()] + ["1980-01-01"] * 96
    path = tmp_path / "people.csv"
    path.write_text(
        "customer_id,birth_date\n" + "".join(f"P{i},{b}\n" for i, b in enumerate(births))
    )
    ws_path = tmp_path / "w.duckdb"
    with segmint.Workspace(ws_path) as ws:
        ws.ingest(path, into="customers")
        got = dict(ws.store.db.execute("SELECT customer_id, birth_date FROM customers").fetchall())
    assert got["P0"] == date(1890, 5, 1) and got["P1"] == date(1975, 3, 2)
    assert got["P2"] is None and got["P3"] is None
    assert [(r, c) for r, c, _v, _w in _issues(ws_path)] == [(3, "birth_date"), (4, "birth_date")]


def test_as_of_ignores_implausible_orders_and_refuses_an_implausible_value(
    tmp_path: Path, retail: list
) -> None:
    ws_path = tmp_path / "w.duckdb"
    with segmint.Workspace(ws_path) as ws:
        ws.ingest(_csv(tmp_path / "o.csv", retail))
    db = duckdb.connect(str(ws_path))  # an order time written by hand, past every check
    db.execute("UPDATE orders SET ordered_at = TIMESTAMP '9999-12-31' WHERE _row = 1")
    db.close()
    with segmint.Workspace(ws_path) as ws:
        when = resolve_as_of(ws.table("orders"), None)
    assert when == max(r[4] for r in retail[1:])
    with pytest.raises(SpecError, match="outside the plausible range"):
        resolve_as_of(None, "9999-12-31")


# --- Excel ---------------------------------------------------------------------------------


def _book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def test_formula_cells_without_a_saved_result_are_counted_by_cell(
    tmp_path: Path, retail: list
) -> None:
    # openpyxl stores formulas without computing them: exactly what the reader sees
    rows = _with(retail, "UnitPrice", {2: "=1.25*2", 11: "=F3+1"})
    rows = _with(rows, "Description", {4: '=CONCAT("LANTERN ", B6)'})
    path = _book(tmp_path / "formulas.xlsx", {"Orders": [HEADER, *rows]})
    ws_path = tmp_path / "w.duckdb"
    result = _cli("ingest", str(path), "-w", str(ws_path))
    assert result.exit_code == 0, result.output
    issues = _issues(ws_path)
    assert [(r, c, v) for r, c, v, _w in issues] == [
        (3, "unit_price", "=1.25*2"),
        (5, "product_name", '=CONCAT("LANTERN ", B6)'),
        (12, "unit_price", "=F3+1"),
    ]
    assert "sheet 'Orders', cell F4" in issues[0][3] and "save it" in issues[0][3]
    assert "cell C6" in issues[1][3]
    with segmint.Workspace(ws_path) as ws:
        (res,) = [r for r in ws.runs() if r["kind"] == "ingest"]
        counts = dict(
            ws.store.db.execute("SELECT column_name, n_bad FROM quality_counts").fetchall()
        )
    assert counts["unit_price"] == 2 and counts["product_name"] == 1
    assert res["row_counts"]["bad_values"] == 3


def test_a_column_of_formulas_fails_the_gate(tmp_path: Path, seeded: Path, retail: list) -> None:
    rows = _with(retail, "UnitPrice", {i: f"=2*{i}" for i in range(N)})
    path = _book(tmp_path / "calc.xlsx", {"Orders": [HEADER, *rows]})
    _refused(
        ["ingest", str(path)],
        seeded,
        "calc.xlsx",
        "400 of 400",
        "formulas without a saved result (sheet 'Orders', cells F2, F3, F4, …)",
        "save it",
        "export the sheet as CSV",
    )


def test_empty_first_sheet_is_skipped_with_a_note(tmp_path: Path, retail: list) -> None:
    path = _book(tmp_path / "book.xlsx", {"Notes": [], "Orders": [HEADER, *retail]})
    ws_path = tmp_path / "w.duckdb"
    result = _cli("ingest", str(path), "-w", str(ws_path))
    assert result.exit_code == 0, result.output
    assert "'Notes' are empty; read sheet 'Orders'" in result.flat
    with segmint.Workspace(ws_path) as ws:
        assert ws.store.count("orders") == N


def test_empty_workbooks_and_empty_named_sheets_are_refused(tmp_path: Path, seeded: Path) -> None:
    empty = _book(tmp_path / "empty.xlsx", {"A": [], "B": []})
    _refused(["ingest", str(empty)], seeded, "empty.xlsx", "Every sheet", "'A', 'B'")
    book = _book(tmp_path / "book.xlsx", {"Notes": [], "Orders": [HEADER]})
    _refused(["ingest", str(book), "--sheet", "Notes"], seeded, "Sheet 'Notes'", "--sheet")
    _refused(["ingest", str(book), "--sheet", "7"], seeded, "no sheet", "'Notes', 'Orders'")


def test_title_rows_above_the_header_are_skipped(tmp_path: Path, retail: list) -> None:
    sheet = [["Online Retail: December 2010"], [f"exported {date.today()}"], [], HEADER, *retail]
    path = _book(tmp_path / "report.xlsx", {"Report": sheet})
    ws_path = tmp_path / "w.duckdb"
    result = _cli("ingest", str(path), "-w", str(ws_path))
    assert result.exit_code == 0, result.output
    assert "skipped as a title" in result.flat
    with segmint.Workspace(ws_path) as ws:
        (res,) = [r for r in ws.runs() if r["kind"] == "ingest"]
        assert res["spec"]["format"] == "online_retail"
        got = ws.store.db.execute(
            "SELECT count(*), count(DISTINCT order_id), sum(quantity) FROM orders"
        ).fetchall()[0]
    assert got == (N, len({r[0] for r in retail}), sum(r[3] for r in retail))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["Title"], [], ["a", "b", "c", "d"], ["1", "2", "3", "4"]], 2),  # title, blank, header
        ([["Report date", "2024-01-01"], list("abcdef"), ["1"] * 6], 1),  # a two-cell date line
        ([["a", "b", "c"], list("xyzuvwqr")], 0),  # a short header over wider text rows stays
        ([["Title"], ["1", "2", "3"], ["4", "5", "6"]], 0),  # no text row: nothing skipped
        ([["email"], ["a@example.com"]], 0),
        ([], 0),
    ],
)
def test_header_row_skips_only_sparse_rows_above_a_text_row(
    rows: list[list[str]], expected: int
) -> None:
    assert header_row(rows) == expected


def test_a_sheet_without_header_row_is_refused(tmp_path: Path, seeded: Path, retail: list) -> None:
    path = _book(tmp_path / "nohead.xlsx", {"Orders": retail})
    _refused(["ingest", str(path)], seeded, "no header row", "insert a row of column names")


# --- JSON and Parquet structure -------------------------------------------------------------


def _records(retail: list) -> list[dict[str, Any]]:
    return [
        {
            "order_id": r[0],
            "customer_id": r[6],
            "ordered_at": r[4].isoformat(),
            "amount": r[3] * r[5],
        }
        for r in retail
    ]


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"x": value}
    return value


STRUCTURES: dict[str, tuple[str, Any, list[str]]] = {
    # name: (file name, content (a JSON value, raw text, or a pyarrow table), phrases)
    "JSON scalar": ("n.json", "42", ["a single value, a number (42)", "array of objects"]),
    "JSON string": ("s.json", '"orders"', ["a single value, a string"]),
    "list of lists": ("lol.json", "LOL", ["a list of 401 lists", "rows without column names"]),
    "mixed array": ("mix.json", "MIX", ["element 401 is a number", "not records"]),
    "wrapped records": ("wrap.json", "WRAP", ["field 'data' holds a list of 400", "jq -c"]),
    "too deep": ("deep.json", "[" * 3000 + "]" * 3000, ["nested more than 128 levels"]),
    "duplicate JSON keys": ("dup.json", "DUPKEY", ["Record 1", "key 'amount' twice"]),
    "duplicate Parquet columns": ("dup.parquet", "DUPCOL", ["'amount' (columns 4 and 5)"]),
}


def _structure(path: Path, content: str, retail: list) -> Path:
    recs = _records(retail)
    if content == "DUPCOL":
        cols = [[r[k] for r in recs] for k in ("order_id", "customer_id", "ordered_at", "amount")]
        names = ["order_id", "customer_id", "ordered_at", "amount", "amount"]
        pq.write_table(pa.Table.from_arrays([pa.array(c) for c in [*cols, cols[3]]], names), path)
        return path
    text = {
        "LOL": lambda: json.dumps([list(recs[0])] + [list(r.values()) for r in recs]),
        "MIX": lambda: json.dumps([*recs, 7]),
        "WRAP": lambda: json.dumps({"data": recs, "page": 1}),
        "DUPKEY": lambda: "[" + ",".join(json.dumps(r)[:-1] + ', "amount": 0}' for r in recs) + "]",
    }.get(content, lambda: content)()
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(STRUCTURES))
def test_json_and_parquet_that_are_not_records_are_refused(
    case: str, tmp_path: Path, seeded: Path, retail: list
) -> None:
    name, content, phrases = STRUCTURES[case]
    path = _structure(tmp_path / name, content, retail)
    _refused(["ingest", str(path)], seeded, name, *phrases)


def test_nested_json_and_parquet_structs_are_kept_as_json(tmp_path: Path, retail: list) -> None:
    recs = [dict(r, meta=_nest({"sku": i}, 60)) for i, r in enumerate(_records(retail))]
    (tmp_path / "deep.json").write_text(json.dumps(recs))
    table = pa.table(
        {
            "order_id": [r["order_id"] for r in recs],
            "customer_id": [r["customer_id"] for r in recs],
            "ordered_at": [r["ordered_at"] for r in recs],
            "amount": [r["amount"] for r in recs],
            "address": [{"city": "Leeds", "zip": str(i)} for i in range(N)],
            "tags": [["gift", str(i)] for i in range(N)],
        }
    )
    pq.write_table(table, tmp_path / "nested.parquet")
    for name, extras in (("deep.json", {"meta"}), ("nested.parquet", {"address", "tags"})):
        with segmint.Workspace(tmp_path / f"{name}.duckdb") as ws:
            res = ws.ingest(tmp_path / name)
            assert {k for k, v in res.extras.items() if v == "JSON"} == extras
            assert ws.store.count("orders") == N
            assert res.bad_values == 0
            if name == "nested.parquet":
                got = ws.store.db.execute(
                    "SELECT address->>'zip', tags->>1 FROM orders WHERE _row = 5"
                ).fetchall()
                assert got == [("4", "4")]


def test_quality_gate_error_type_through_the_api(tmp_path: Path, retail: list) -> None:
    bad = _csv(tmp_path / "p.csv", _with(retail, "UnitPrice", dict.fromkeys(range(N), "-inf")))
    with segmint.Workspace(tmp_path / "w.duckdb") as ws, pytest.raises(QualityGateError) as info:
        ws.ingest(bad)
    assert info.value.where == "p.csv" and info.value.fix


# --- the whole run ---------------------------------------------------------------------------


def test_run_refuses_a_file_of_infinite_prices_before_writing(tmp_path: Path, retail: list) -> None:
    bad = _csv(tmp_path / "p.csv", _with(retail, "UnitPrice", dict.fromkeys(range(N), "inf")))
    target = tmp_path / "new" / "w.duckdb"
    result = _cli("run", str(bad), "-w", str(target), "--out", str(tmp_path / "report"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "column 'UnitPrice'" in result.flat and "row 1: 'inf'" in result.flat
    assert not target.exists()


@pytest.mark.slow
def test_run_with_a_few_infinite_prices_and_a_year_9999_date_succeeds(
    tmp_path: Path, retail: list
) -> None:
    """The issue's run died in scikit-learn after clean and features were committed."""
    rows = _with(retail, "UnitPrice", HOSTILE_PRICES)
    rows = _with(rows, "InvoiceDate", {7: "9999-12-31 00:00:00"})
    ws_path = tmp_path / "w.duckdb"
    out = tmp_path / "report"
    result = _cli("run", str(_csv(tmp_path / "o.csv", rows)), "-w", str(ws_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists()
    with segmint.Workspace(ws_path) as ws:
        as_of = [r for r in ws.runs() if r["kind"] == "features"][-1]["spec"]["as_of"]
    assert datetime.fromisoformat(as_of) == max(r[4] for i, r in enumerate(retail) if i != 7)


def test_amounts_beyond_the_exact_sum_are_summed_as_floats(tmp_path):
    """Sums are exact decimals below 1e12 (so every engine agrees); a hostile 1e15 or 1e40
    still adds up (as a float) instead of stopping the features with a conversion error."""
    import pandas as pd

    src = tmp_path / "o.csv"
    pd.DataFrame(
        {
            "order_id": ["A", "B", "C", "D"],
            "customer_id": ["c1", "c1", "c2", "c3"],
            "ordered_at": ["2024-01-01", "2024-01-05", "2024-01-03", "2024-01-04"],
            "amount": [1e15, 5.25, 1e40, None],
        }
    ).to_csv(src, index=False)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(src)
    ws.clean()
    f = ws.features().to_pandas().set_index("customer_id")
    assert f.loc["c1", "monetary_total"] == 1e15 + 5.25
    assert f.loc["c2", "monetary_total"] == 1e40
    assert f.loc["c3", "monetary_total"] == 0.0
    assert ws.value_summary().loc["c1", "revenue"] == 1e15 + 5.25
