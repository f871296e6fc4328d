"""Real data end to end: UCI Online Retail (Excel) and CDNOW (whitespace text).

Expected numbers are computed in the test from the raw files with other readers (openpyxl,
plain Python), never copied from segmint's output.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import openpyxl
import pytest

import segmint
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def retail_truth() -> dict[str, object]:
    path = shared_file("uci_online_retail_head", "Online Retail.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.active.iter_rows(min_row=2, values_only=True))
    wb.close()
    invoices = {str(r[0]) for r in rows}
    return {
        "rows": len(rows),
        "customers": len({int(r[6]) for r in rows if r[6] is not None}),
        "invoices": len(invoices),
        "cancelled_invoices": len({i for i in invoices if i.startswith("C")}),
        "cancelled_rows": sum(1 for r in rows if str(r[0]).startswith("C")),
        "no_customer": sum(1 for r in rows if r[6] is None),
        "negative_qty": sum(1 for r in rows if r[3] < 0),
        "revenue": round(sum(r[3] * r[5] for r in rows), 2),
        "countries": len({r[7] for r in rows}),
        "first": min(r[4] for r in rows),
        "last": max(r[4] for r in rows),
    }


@pytest.fixture(scope="module")
def retail_ws(tmp_path_factory: pytest.TempPathFactory) -> segmint.Workspace:
    ws = segmint.Workspace(tmp_path_factory.mktemp("retail") / "w.duckdb")
    ws.ingest(shared_file("uci_online_retail_head", "Online Retail.xlsx"))
    return ws


def test_online_retail_lands_every_row_with_real_counts(retail_ws, retail_truth):
    t = retail_truth
    (res,) = [r for r in retail_ws.runs() if r["kind"] == "ingest"]
    assert res["spec"]["format"] == "online_retail"
    o = retail_ws.table("orders")
    df = o.to_pandas()
    assert len(df) == t["rows"] == 70051
    assert df.customer_id.nunique() == t["customers"]
    assert df.order_id.nunique() == t["invoices"]
    assert df[df.status == "cancelled"].order_id.nunique() == t["cancelled_invoices"]
    assert (df.status == "cancelled").sum() == t["cancelled_rows"]
    assert df.customer_id.isna().sum() == t["no_customer"]
    assert df.returned.sum() == t["negative_qty"]
    assert df.amount.sum() == pytest.approx(t["revenue"], abs=0.01)  # float sums: no rounding edge
    assert df.country.nunique() == t["countries"]
    assert df.ordered_at.min() == t["first"] and df.ordered_at.max() == t["last"]
    # ids keep their text form: no '17850.0' from the float column
    assert not df.customer_id.dropna().str.contains(r"\.").any()
    assert set(df.currency) == {"GBP"}


def test_online_retail_clean_keeps_cancellations_and_adds_customers(retail_ws, retail_truth):
    result = retail_ws.clean()
    orders = result.tables["orders"]
    assert orders["marked"]["cancelled"] > 0  # kept and marked, not dropped
    df = retail_ws.table("orders").to_pandas()
    assert orders["rows"] == len(df) == retail_truth["rows"] - orders["duplicates_removed"]
    cust = retail_ws.table("customers").to_pandas()
    assert len(cust) == retail_truth["customers"]
    # countries are ISO codes now; EIRE became IE; names with no country are left empty
    assert "IE" in set(cust.country) and "GB" in set(cust.country)
    assert cust.country.dropna().str.fullmatch(r"[A-Z]{2}").all()


def test_cdnow_whitespace_file(tmp_path):
    path = shared_file("cdnow", "CDNOW_master.txt")
    lines = [ln.split() for ln in path.read_text().splitlines()[1:] if ln.strip()]
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    res = ws.ingest(path)
    assert res.format == "cdnow:orders"
    df = ws.table("orders").to_pandas()
    assert len(df) == len(lines) == 69659
    assert df.customer_id.nunique() == len({ln[0] for ln in lines}) == 23570
    # ids keep their leading zeros
    assert df.customer_id.min() == min(ln[0] for ln in lines)
    assert df.amount.sum() == pytest.approx(sum(float(ln[3]) for ln in lines), abs=0.01)
    assert df.quantity.sum() == sum(int(ln[2]) for ln in lines)
    # one order per customer and day (no order id in the file)
    assert df.order_id.nunique() == len({(ln[0], ln[1]) for ln in lines})
    days = Counter((ln[0], ln[1]) for ln in lines)
    assert sum(c - 1 for c in days.values()) == 2068
    assert df.ordered_at.min() == datetime(1997, 1, 1)
    assert df.ordered_at.max() == datetime.strptime(max(ln[1] for ln in lines), "%Y%m%d")
    assert (df.amount == 0).sum() == sum(1 for ln in lines if float(ln[3]) == 0) == 80
