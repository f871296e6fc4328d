"""Clean: standardization, dedup, derived customers, gates, idempotence, the quality report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import segmint
from segmint.exceptions import QualityGateError
from tests.conftest import snapshot

CUSTOMERS = """customer_id,email,phone,country,first_name
C1, Ann@Example.COM ,030 1234567,Germany,Ann
C2,bob@example.com,+44 20 7946 0018,UK,Bob
C3,not-an-email,(202) 555-0143,USA,Cy
C3,cy@example.com,(202) 555-0143,USA,Cy
C4,,12,France,Di
C5,eve@example.com,,Atlantis,Eve
"""

ORDERS = """order_id,customer_id,ordered_at,amount,quantity,status,country
O1,C1,2024-01-02,10,1,paid,DE
O1,C1,2024-01-02,10,1,paid,DE
O2,C2,2024-01-03,-5,-1,refunded,GB
O3,C9,2024-01-04,7,1,cancelled,Deutschland
O4,,2024-01-05,3,1,paid,DE
"""


@pytest.fixture
def loaded(tmp_path: Path) -> segmint.Workspace:
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "orders.csv").write_text(ORDERS)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(tmp_path / "customers.csv", into="customers")
    ws.ingest(tmp_path / "orders.csv")
    return ws


def test_standardizes_dedupes_and_derives(loaded):
    result = loaded.clean()
    cust = loaded.table("customers").order_by("customer_id").to_pandas().set_index("customer_id")
    assert cust.loc["C1", "email"] == "ann@example.com"
    assert cust.loc["C1", "phone"] == "+49301234567"
    assert cust.loc["C2", "phone"] == "+442079460018"
    assert cust.loc["C3", "phone"] == "+12025550143"
    assert pd.isna(cust.loc["C4", "phone"])  # '12' is no phone number: emptied, reported
    assert list(cust.loc[["C1", "C2", "C3", "C4"], "country"]) == ["DE", "GB", "US", "FR"]
    assert pd.isna(cust.loc["C5", "country"])  # Atlantis: unknown, reported
    # duplicate id C3: the later row wins (its e-mail is the valid one)
    assert cust.loc["C3", "email"] == "cy@example.com"
    assert result.tables["customers"]["duplicate_ids_removed"] == 1
    # C9 appears only in orders and was added
    assert "C9" in cust.index and cust.loc["C9", "country"] == "DE"
    assert result.tables["customers"]["added_from_orders"] == 1
    orders = result.tables["orders"]
    assert orders["duplicates_removed"] == 1 and orders["rows"] == 4
    assert orders["marked"] == {
        "cancelled": 1,
        "refunded": 1,
        "returned": 1,
        "pending": 0,
        "guest_lines": 1,
    }
    checks = {(c["table"], c["column"], c["check"]): c for c in result.checks}
    assert checks[("customers", "phone", "phone")]["n_bad"] == 1
    assert checks[("customers", "country", "country")]["n_bad"] == 1
    assert checks[("orders", "customer_id", "missing_customer_id")]["n_bad"] == 1


def test_issues_name_file_row_value_and_reason(loaded):
    loaded.clean()
    issues = loaded.store.db.execute(
        'SELECT table_name, source, "row", column_name, value, reason FROM quality_issues '
        "ORDER BY table_name, column_name"
    ).fetchall()
    by_col = {(i[0], i[3]): i for i in issues}
    assert by_col[("customers", "country")][1:5] == ("customers.csv", 6, "country", "Atlantis")
    assert "unknown country" in by_col[("customers", "country")][5]
    assert by_col[("customers", "phone")][1:5] == ("customers.csv", 5, "phone", "12")


def test_clean_is_idempotent(loaded):
    loaded.clean()
    first = {
        t: loaded.table(t).to_pandas().drop(columns=["_run_id"]) for t in ("customers", "orders")
    }
    again = loaded.clean()
    assert all(
        c["n_bad"] == 0 for c in again.checks if c["check"] in ("email", "phone", "duplicate_rows")
    )
    for t, before in first.items():
        after = loaded.table(t).to_pandas().drop(columns=["_run_id"])
        assert (
            after.sort_values(list(after.columns[:2]))
            .reset_index(drop=True)
            .equals(before.sort_values(list(before.columns[:2])).reset_index(drop=True))
        )


def test_gate_stops_clean_and_changes_nothing(loaded):
    path = loaded.path
    before = snapshot_open(loaded, path)
    with pytest.raises(QualityGateError) as info:
        loaded.clean(gates=segmint.QualityGates(max_unknown_countries=0.05))
    text = str(info.value)
    assert "customers.country" in text and "max_unknown_countries" in text
    assert "Atlantis" in text and "nothing was changed" in text
    assert snapshot_open(loaded, path) == before


def snapshot_open(ws: segmint.Workspace, path: Path) -> dict:
    ws.close()  # the snapshot opens the file read-only; the workspace reopens on next use
    return snapshot(path)


def test_quality_report_json_and_html(loaded, tmp_path):
    loaded.clean()
    report = loaded.quality(tmp_path / "q")
    data = json.loads((tmp_path / "q" / "quality.json").read_text())
    html = (tmp_path / "q" / "quality.html").read_text()
    assert data["tables"]["orders"]["rows"] == 4
    assert data["tables"]["orders"]["duplicates_removed"] == 1
    assert data["tables"]["customers"]["columns"]["email"]["missing"] >= 1
    assert any(i["value"] == "Atlantis" and i["row"] == 6 for i in data["issues"])
    assert {g["name"] for g in data["gates"]} >= {"max_unknown_countries", "max_invalid_phones"}
    assert "Atlantis" in html and "customers.csv" in html
    assert report["summary"]["issues_total"] == data["summary"]["issues_total"] > 0
    assert "http://" not in html and "https://" not in html


def test_quartiles_agree_with_quantile_cont() -> None:
    """The outlier fences' quartiles (bounded memory) match DuckDB's quantile_cont."""
    import duckdb
    import numpy as np

    from segmint.clean._pipeline import _Ctx, _quartiles

    rng = np.random.default_rng(7)
    con = duckdb.connect()
    ctx = _Ctx(con, "test", [], [])
    con.execute("CREATE TABLE t (x DOUBLE)")
    assert _quartiles(ctx, "t", "x") is None
    con.execute("INSERT INTO t VALUES (NULL)")
    assert _quartiles(ctx, "t", "x") is None
    for n in (1, 2, 3, 4, 7, 50, 1001):
        values = [*np.round(rng.lognormal(3, 1, n), 2).tolist(), None, 5.0, 5.0]
        con.execute("DELETE FROM t")
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
        expected = con.execute(
            "SELECT quantile_cont(x, 0.25), quantile_cont(x, 0.75) FROM t"
        ).fetchone()
        got = _quartiles(ctx, "t", "x")
        assert got is not None and np.allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("rewrite", [False, True])
def test_duplicates_removed_by_rewrite_equal_a_delete(tmp_path, monkeypatch, rewrite):
    """Scattered duplicates in a big table pin DuckDB memory per touched vector inside the
    clean's transaction, so the clean then writes the table again without them: the table
    it leaves is the one a DELETE leaves (rows, order, column types), gates still all or
    nothing."""
    from segmint.clean import _pipeline

    if rewrite:  # every touched vector counts as over the budget
        monkeypatch.setattr(_pipeline, "_DELETE_PIN_BYTES", 1e18)
    n = 10_000
    lines = pd.DataFrame(
        {
            "order_id": [f"O{i % 9_000}" for i in range(n)],  # 1,000 repeated lines
            "customer_id": [f"C{i % 9_000 % 700}" for i in range(n)],
            "ordered_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta([i % 9_000 for i in range(n)], unit="h"),
            "amount": [float(i % 9_000 % 97) for i in range(n)],
        }
    )
    path = tmp_path / "orders.csv"
    lines.to_csv(path, index=False)
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(path)
        types = ws.store.db.execute("DESCRIBE orders").fetchall()
        out = ws.clean()
        assert out.tables["orders"]["duplicates_removed"] == 1_000
        kept = ws.store.db.execute("SELECT order_id, _row FROM orders").fetchall()
        assert [r[1] for r in kept] == list(range(1, 9_001))  # the first of each, in order
        assert ws.store.db.execute("DESCRIBE orders").fetchall() == types
        assert "_segmint_rewrite_orders" not in ws.tables()
