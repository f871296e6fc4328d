"""A clean of the new imports only (``segmint update``) leaves the tables a full clean leaves.

Workspace A cleans the old files, imports the new ones and cleans only those rows; workspace
B imports everything and cleans once. The new files carry what a clean must handle: a line
identical to an old one, a repeated customer id with newer data, a bad e-mail, a country
spelled out, a customer seen only in the new orders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import segmint

DATA = ["order_id", "customer_id", "ordered_at", "amount", "category", "status"]


def _files(tmp: Path) -> dict[str, Path]:
    shop = segmint.datasets.make_retail(120, seed=5)
    c, o = shop.customers, shop.orders
    cut = o.ordered_at.quantile(0.8)
    old_c, new_c = c.iloc[:100], c.iloc[95:].copy()  # five ids again, with newer data
    new_c.loc[new_c.index[0], "email"] = "not an address"
    new_c.loc[new_c.index[1], "country"] = "Germany"
    old_o, new_o = o[o.ordered_at <= cut], o[o.ordered_at > cut]
    guest = new_o.head(1).assign(customer_id="ONLY-IN-ORDERS", order_id="X1")
    new_o = pd.concat([new_o, old_o.tail(2), guest])  # two old lines again
    files = {
        "c1": tmp / "c1.csv", "c2": tmp / "c2.csv", "o1": tmp / "o1.csv", "o2": tmp / "o2.csv",
    }  # fmt: skip
    old_c.to_csv(files["c1"], index=False)
    new_c.to_csv(files["c2"], index=False)
    old_o.to_csv(files["o1"], index=False)
    new_o.to_csv(files["o2"], index=False)
    return files


def _table(ws: segmint.Workspace, name: str) -> pd.DataFrame:
    df = ws.table(name).to_pandas().drop(columns=["_run_id", "_row"])
    return df.sort_values(list(df.columns)[:3]).reset_index(drop=True).astype(str)


def test_scoped_clean_equals_full_clean(tmp_path: Path) -> None:
    f = _files(tmp_path)
    a = segmint.Workspace(tmp_path / "a.duckdb")
    a.ingest(f["c1"], into="customers")
    a.ingest(f["o1"], into="orders")
    a.clean()
    new = [a.ingest(f["c2"], into="customers").run_id, a.ingest(f["o2"], into="orders").run_id]
    scoped = a.clean(only_runs=new)
    b = segmint.Workspace(tmp_path / "b.duckdb")
    for k, into in (("c1", "customers"), ("o1", "orders"), ("c2", "customers"), ("o2", "orders")):
        b.ingest(f[k], into=into)
    full = b.clean()
    for name in ("orders", "customers"):
        pd.testing.assert_frame_equal(_table(a, name), _table(b, name))
    # the sample shop plants identical lines of its own; the two old lines are among them
    assert scoped.tables["orders"]["duplicates_removed"] >= 2
    # the five repeated ids, and the 20 customers the first clean added from o1 whose
    # customers rows came only with c2 (the newer import wins, as in B)
    assert scoped.tables["customers"]["duplicate_ids_removed"] == 25
    assert scoped.tables["customers"]["added_from_orders"] == 1
    assert full.tables["customers"]["added_from_orders"] == 1
    # the counts of a scoped clean are about the new rows
    email = next(c for c in scoped.checks if c["table"] == "customers" and c["check"] == "email")
    assert email["n_bad"] == 1 and email["n_checked"] <= 25
    a.close()
    b.close()
