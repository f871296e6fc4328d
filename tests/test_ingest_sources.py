"""Every reader and the typing rules: encodings, delimiters, Excel, Parquet, JSON, SQL."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

import segmint
from segmint.exceptions import SegmintError

ORDERS = [
    ("A1", "C1", "2024-01-02 10:00:00", "10.50"),
    ("A2", "C2", "2024-01-03 11:30:00", "20.00"),
    ("A3", "C1", "2024-02-01 09:15:00", "5.25"),
]


def _csv(
    path: Path,
    rows: list[tuple[str, ...]],
    header: tuple[str, ...],
    sep: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    text = sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows)
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


HEADER = ("order_id", "customer_id", "ordered_at", "amount")


def _orders(ws: segmint.Workspace) -> list[tuple]:
    return [
        tuple(r)
        for r in ws.table("orders")
        .select("order_id", "customer_id", "ordered_at", "amount")
        .order_by("order_id")
        .to_pyarrow()
        .to_pylist()
        for r in [r.values()]
    ]


def _expected() -> list[tuple]:
    return [(o, c, datetime.fromisoformat(t), float(a)) for o, c, t, a in ORDERS]


@pytest.mark.parametrize(
    ("sep", "encoding", "bom"),
    [
        (",", "utf-8", False),
        (",", "utf-8", True),
        (";", "latin-1", False),
        ("\t", "utf-8", False),
        ("|", "utf-8", False),
    ],
)
def test_csv_dialects_and_encodings(tmp_path, sep, encoding, bom):
    rows = [(o, c + ("é" if encoding == "latin-1" else ""), t, a) for o, c, t, a in ORDERS]
    path = _csv(tmp_path / "o.csv", rows, HEADER, sep, encoding, bom)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(path)
    got = _orders(ws)
    assert [g[0] for g in got] == ["A1", "A2", "A3"]
    assert got[0][1] == rows[0][1]  # 'C1é' decoded right from Latin-1
    assert [g[2:] for g in got] == [e[2:] for e in _expected()]


def test_excel_parquet_json_ndjson_sqlite_give_the_same_table(tmp_path):
    results = []
    # Excel with real datetime cells and numbers
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(list(HEADER))
    for o, c, t, a in ORDERS:
        sh.append([o, c, datetime.fromisoformat(t), float(a)])
    wb.save(tmp_path / "o.xlsx")
    # JSON array and NDJSON
    objs = [dict(zip(HEADER, r, strict=True)) for r in ORDERS]
    (tmp_path / "o.json").write_text(json.dumps(objs))
    (tmp_path / "o.ndjson").write_text("\n".join(json.dumps(o) for o in objs))
    # Parquet with native types
    duckdb.sql(
        "SELECT order_id, customer_id, CAST(ordered_at AS TIMESTAMP) AS ordered_at, "
        f"CAST(amount AS DOUBLE) AS amount FROM read_json_auto('{tmp_path / 'o.json'}')"
    ).write_parquet(str(tmp_path / "o.parquet"))
    # SQLite
    con = sqlite3.connect(tmp_path / "shop.db")
    con.execute(
        "CREATE TABLE orders (order_id TEXT, customer_id TEXT, ordered_at TEXT, amount REAL)"
    )
    con.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)", [(o, c, t, float(a)) for o, c, t, a in ORDERS]
    )
    con.commit()
    con.close()
    sources = [
        tmp_path / "o.xlsx",
        tmp_path / "o.json",
        tmp_path / "o.ndjson",
        tmp_path / "o.parquet",
        f"sqlite:///{tmp_path / 'shop.db'}?table=orders",
    ]
    for i, src in enumerate(sources):
        ws = segmint.Workspace(tmp_path / f"w{i}.duckdb")
        ws.ingest(src)
        results.append(_orders(ws))
        ws.close()
    for got in results:
        assert got == _expected()


def test_sqlite_file_path_with_table_option_and_query(tmp_path):
    con = sqlite3.connect(tmp_path / "shop.db")
    con.execute("CREATE TABLE t (order_id TEXT, customer_id TEXT, ordered_at TEXT, amount REAL)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)", [(o, c, t, float(a)) for o, c, t, a in ORDERS]
    )
    con.commit()
    con.close()
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(tmp_path / "shop.db", table="t")
    assert len(_orders(ws)) == 3
    ws.ingest(tmp_path / "shop.db", query="SELECT * FROM t WHERE amount > 6", replace=True)
    assert [r[0] for r in _orders(ws)] == ["A1", "A2"]
    with pytest.raises(SegmintError, match="which table"):
        ws.ingest(tmp_path / "shop.db")


@pytest.mark.postgres
def test_postgresql_by_url(tmp_path, postgres_url):
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(postgres_url) as con:
        cur = con.cursor()
        cur.execute("DROP TABLE IF EXISTS shop_orders")
        cur.execute(
            "CREATE TABLE shop_orders (order_id text, customer_id text, "
            "ordered_at timestamptz, amount numeric(10,2))"
        )
        for o, c, t, a in ORDERS:
            cur.execute(f"INSERT INTO shop_orders VALUES ('{o}', '{c}', '{t}+01:00', {a})")
        con.commit()
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(f"{postgres_url}?table=shop_orders")
    assert res.rows == 3
    got = _orders(ws)
    # timestamptz at +01:00 lands as UTC, one hour earlier
    assert got[0][2] == datetime(2024, 1, 2, 9, 0)
    assert [g[3] for g in got] == [10.5, 20.0, 5.25]


def test_explicit_mapping_wins_and_extras_are_typed(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Invoice #,Client No,When,Total,Date,Zip,Loyalty points,VIP,Score,Joined,Note\n"
        'I1,0007,02/01/2024,"1,234.50",1999-01-01,01234,10,yes,1.5,2023-05-01 10:00,hello\n'
        "I2,0008,03/01/2024,$99.00,1999-01-01,99999,,no,2,2023-06-01 11:00,\n"
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(
        path,
        into="orders",
        date_format="%d/%m/%Y",
        mapping={
            "order_id": "Invoice #",
            "customer_id": "Client No",
            "ordered_at": "When",
            "amount": "Total",
        },
    )
    assert res.mapped["ordered_at"] == "When"  # not the 'Date' column the aliases would pick
    df = ws.table("orders").order_by("order_id").to_pandas()
    assert list(df.customer_id) == ["0007", "0008"]  # leading zeros kept
    assert list(df.amount) == [1234.5, 99.0]
    assert df.ordered_at[0] == datetime(2024, 1, 2)
    cols = ws.store.columns("orders")
    assert cols["zip"] == "VARCHAR"  # '01234' must not become 1234
    assert cols["loyalty_points"] == "BIGINT"
    assert cols["vip"] == "BOOLEAN"
    assert cols["score"] == "DOUBLE"
    assert cols["joined"] == "TIMESTAMP"
    assert cols["note"] == "VARCHAR"
    assert cols["date"] == "TIMESTAMP"
    assert list(df.zip) == ["01234", "99999"]


def test_money_with_decimal_comma_currency_and_negatives(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id;customer_id;ordered_at;amount\n"
        "A1;C1;15.01.2024;1.234,56 €\nA2;C2;16.01.2024;-12,00 €\nA3;C3;17.01.2024;(3,50)\n"
        "A4;C4;18.01.2024;abc\n",
        encoding="utf-8",
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path, gates=segmint.QualityGates(max_invalid_numbers=0.5))
    df = ws.table("orders").order_by("order_id").to_pandas()
    assert list(df.amount[:3]) == [1234.56, -12.0, -3.5]
    assert df.amount.isna().tolist()[3]
    assert df.ordered_at[0] == datetime(2024, 1, 15)
    assert df.status.tolist()[:2] == ["paid", "refunded"]  # negative amount without a status
    (chk,) = [c for c in res.checks if c["column"] == "amount"]
    assert (chk["n_bad"], chk["n_checked"]) == (1, 4)
    issues = ws.store.db.execute(
        'SELECT source, "row", column_name, value, reason FROM quality_issues'
    ).fetchall()
    assert issues == [("o.csv", 4, "amount", "abc", "not a number (column 'amount')")]


def test_times_with_offsets_and_source_timezone_become_utc(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "A1,C1,2024-01-15 10:23:45 -0500,1\nA2,C2,2024-07-01T12:00:00Z,1\n"
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(path)
    df = ws.table("orders").order_by("order_id").to_pandas()
    assert df.ordered_at[0] == datetime(2024, 1, 15, 15, 23, 45)
    assert df.ordered_at[1] == datetime(2024, 7, 1, 12, 0)
    local = tmp_path / "local.csv"
    local.write_text("order_id,customer_id,ordered_at,amount\nB1,C1,2024-07-01 12:00:00,1\n")
    ws.ingest(local, timezone="Europe/Berlin")
    row = ws.table("orders").filter(lambda t: t.order_id == "B1").to_pandas()
    assert row.ordered_at[0] == datetime(2024, 7, 1, 10, 0)  # CEST is UTC+2


def test_ambiguous_day_month_is_noted_and_date_format_fixes_it(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\nA1,C1,01/02/2024,1\nA2,C2,03/04/2024,1\n"
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert any("ambiguous" in n for n in res.notes)
    assert ws.table("orders").to_pandas().ordered_at[0] == datetime(2024, 1, 2)
    ws.ingest(path, date_format="%d/%m/%Y", replace=True)
    assert ws.table("orders").to_pandas().ordered_at[0] == datetime(2024, 2, 1)


def test_repeat_import_refused_replace_allowed_and_runs_recorded(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-02,1\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    first = ws.ingest(path)
    with pytest.raises(SegmintError, match="already imported"):
        ws.ingest(path)
    ws.ingest(path, replace=True)
    assert ws.table("orders").count().execute() == 1
    runs = ws.runs()
    assert [r["kind"] for r in runs] == ["ingest", "ingest"]
    assert runs[0]["run_id"] == first.run_id
    assert runs[0]["fingerprint"] and runs[0]["row_counts"]["written"] == 1
    assert runs[0]["spec"]["mapping"]["ordered_at"] == "ordered_at"
    assert ws.table("orders").to_pandas()._run_id[0] == runs[1]["run_id"]


def test_customers_from_email_only_and_entity_guess(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Email,First Name,Last Name,Phone\n  Ann@Example.COM ,Ann,Lee,030 123456\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert res.table == "customers"
    df = ws.table("customers").to_pandas()
    assert df.customer_id[0] == "ann@example.com"


def test_repeat_import_can_be_skipped(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-02,1\n")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    first = ws.ingest(path)
    again = ws.ingest(path, if_imported="skip")
    assert again.skipped and again.rows == 0 and again.run_id == first.run_id
    assert "already imported" in again.notes[0]
    assert ws.table("orders").count().execute() == 1
    assert len(ws.runs()) == 1
