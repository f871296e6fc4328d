"""Planted drift on the sample shop (issue 13): between two runs half a year apart, only 30 %
of the customers buy again. Recency must drift and be flagged; a customer attribute nobody
touched (gender) must not; the RFM segments move and the monitor says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import segmint
from segmint.cli import app

T1, T2 = "2024-06-30", "2024-12-31"


def _cli(*args: str) -> None:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output


def test_only_30_percent_buying_again_drifts_recency_not_gender(tmp_path: Path) -> None:
    shop = segmint.datasets.make_retail(800, seed=9)
    rng = np.random.default_rng(9)
    ids = shop.customers["customer_id"].to_numpy()
    again = set(ids[rng.random(len(ids)) < 0.30])
    orders = shop.orders
    late = orders["ordered_at"] > pd.Timestamp(T1)
    kept = orders[~late | orders["customer_id"].isin(again)]
    customers_csv, orders_csv = tmp_path / "customers.csv", tmp_path / "orders.csv"
    shop.customers.to_csv(customers_csv, index=False)
    kept.to_csv(orders_csv, index=False)
    spec = tmp_path / "rfm.yaml"
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    ws = str(tmp_path / "w.duckdb")
    _cli("ingest", str(customers_csv), "--as", "customers", "-w", ws)
    _cli("ingest", str(orders_csv), "--as", "orders", "-w", ws)
    _cli("run", "--spec", str(spec), "--as-of", T1, "-w", ws, "--out", str(tmp_path / "r1"))
    _cli("run", "--spec", str(spec), "--as-of", T2, "-w", ws, "--out", str(tmp_path / "r2"))

    with segmint.Workspace(ws, read_only=True) as w:
        result = w.monitor()
    features = {f["feature"]: f for f in result.to_dict()["features"]}
    assert features["recency_days"]["drifted"], features["recency_days"]
    gender = features["gender"]
    assert gender["kind"] == "categorical" and gender["method"] != "none"
    assert not gender["drifted"], gender
    assert result.crossed
    assert any(a["kind"] == "feature_drift" and a["subject"] == "recency_days" for a in
               result.to_dict()["alerts"])  # fmt: skip
    rfm = next(s for s in result.to_dict()["segmentations"] if s["name"] == "rfm")
    moved = 1 - rfm["stayed_share"]
    assert moved > 0.3, rfm["stayed_share"]  # lapsing customers leave their segments
