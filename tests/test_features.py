"""Basic features against an independent pandas computation on real data."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

import segmint
from tests.conftest import shared_file


def pandas_basics(orders: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """The documented definitions, written independently with pandas."""
    o = orders[orders.customer_id.notna() & (orders.ordered_at <= as_of)].copy()
    o["purchase"] = o.status.isin(["paid", "refunded"]) & (o.amount >= 0)
    o["revenue"] = (o.status == "paid") | (o.amount < 0)
    p = o[o.purchase]
    out = pd.DataFrame(index=pd.Index(sorted(o.customer_id.unique()), name="customer_id"))
    out["frequency"] = p.groupby("customer_id").order_id.nunique()
    out["frequency"] = out.frequency.fillna(0).astype(int)
    out["monetary_total"] = o[o.revenue].groupby("customer_id").amount.sum()
    out["monetary_total"] = out.monetary_total.fillna(0.0).round(2)
    last = p.groupby("customer_id").ordered_at.max()
    first = p.groupby("customer_id").ordered_at.min()
    day = pd.Timestamp(as_of.date())
    out["recency_days"] = (day - last.dt.normalize()).dt.days
    out["tenure_days"] = (day - first.dt.normalize()).dt.days
    out["avg_order_value"] = np.where(
        out.frequency > 0,
        (out.monetary_total / out.frequency.where(out.frequency > 0)).round(2),
        np.nan,
    )
    return out


@pytest.mark.parametrize("dataset", ["online_retail", "cdnow"])
def test_features_match_pandas(tmp_path, dataset):
    src = (
        shared_file("uci_online_retail_head", "Online Retail.xlsx")
        if dataset == "online_retail"
        else shared_file("cdnow", "CDNOW_master.txt")
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(src)
    as_of = datetime(2011, 1, 15, 23, 59, 59) if dataset == "online_retail" else None
    feats = ws.features(as_of=as_of).to_pandas().set_index("customer_id")
    orders = ws.table("orders").to_pandas()
    when = as_of or orders.ordered_at.max().to_pydatetime()
    assert ws.runs()[-1]["spec"]["as_of"] == when.isoformat()
    expected = pandas_basics(orders, when)
    assert list(feats.index) == list(expected.index)
    for col in ("frequency", "monetary_total", "recency_days", "tenure_days", "avg_order_value"):
        got = feats[col].astype(float).to_numpy()
        exp = expected[col].astype(float).to_numpy()
        np.testing.assert_allclose(got, exp, rtol=0, atol=0.011, equal_nan=True, err_msg=col)
    assert feats.frequency.sum() > 0


def test_as_of_date_excludes_later_orders(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\nA,C1,2024-01-01 10:00,10\n"
        "B,C1,2024-01-10 10:00,30\nC,C2,2024-02-01 10:00,5\n"
    )
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(path)
    f = ws.features(as_of="2024-01-10").to_pandas().set_index("customer_id")
    assert list(f.index) == ["C1"]
    assert f.loc["C1", "frequency"] == 2 and f.loc["C1", "recency_days"] == 0
    assert f.loc["C1", "tenure_days"] == 9 and f.loc["C1", "avg_order_value"] == 20.0


@pytest.mark.parametrize("guest_line", [False, True])
def test_customer_spine_for_undated_customers(guest_line):
    """Undated customers: kept unless all their lines come later (or are undated).

    docs/features.md: a customer without signup_at and without any order line existed. A
    guest line (customer id NULL) must not change that (in SQL it would make ``NOT IN``
    unknown for everyone, which once dropped u1 here).
    """
    import ibis

    from segmint.features import build_features

    when = datetime(2024, 6, 30)
    lines = [
        ("o1", "u3", "2024-01-05"),  # u3: a line before as_of and one after
        ("o2", "u3", "2024-08-01"),
        ("o3", "u2", "2024-09-01"),  # u2: only later lines
        ("o4", "u4", None),  # u4: an undated line only
        ("o5", "b1", "2024-02-01"),  # b1: a buyer not in customers
    ] + ([("o6", None, "2024-03-01")] if guest_line else [])
    orders = pd.DataFrame(lines, columns=["order_id", "customer_id", "ordered_at"])
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders["amount"] = 10.0
    people = pd.DataFrame(
        {
            "customer_id": ["u1", "u2", "u3", "u4", "d1", "d2"],
            "signup_at": pd.to_datetime([None, None, None, None, "2024-01-01", "2024-12-01"]),
        }
    )
    wide = build_features(
        {"orders": ibis.memtable(orders), "customers": ibis.memtable(people)}, when
    )
    got = set(wide.select("customer_id").to_pandas()["customer_id"])
    expected = {"u1", "u3", "b1", "d1"}
    assert got == expected
