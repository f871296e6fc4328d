"""Planted drift on the sample shop (issue 13): between two runs half a year apart, only 30 %
of the customers buy again. Recency must drift and be flagged; a customer attribute nobody
touched (gender) must not; the RFM segments move and the monitor says so, and so does the
second run's report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app

T1, T2 = "2024-06-30", "2024-12-31"


def _cli(*args: str) -> None:
    r = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with two RFM runs half a year apart (the reports in r1/ and r2/)."""
    tmp_path = tmp_path_factory.mktemp("planted")
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
    return tmp_path


def test_only_30_percent_buying_again_drifts_recency_not_gender(planted: Path) -> None:
    with segmint.Workspace(planted / "w.duckdb", read_only=True) as w:
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


def test_the_second_report_alerts_on_recency(planted: Path) -> None:
    import json

    data = json.loads((planted / "r2" / "report.json").read_text(encoding="utf-8"))
    m = data["monitoring"]
    drifts = {a["subject"]: a for a in m["alerts"] if a["kind"] == "feature_drift"}
    recency = drifts["recency_days"]
    feature = next(f for f in m["features"] if f["feature"] == "recency_days")
    # the alert compares the number its threshold applies to (the p-value for KS)
    assert feature["method"] == "ks" and recency["value"] == feature["p_value"] <= 0.05
    assert not any(a["subject"] == "gender" for a in m["alerts"])
    rfm = m["segmentations"][0]
    total = sum(n for row in rfm["migration"].values() for n in row.values())
    with segmint.Workspace(planted / "w.duckdb", read_only=True) as w:
        row = w.store.db.execute(
            "SELECT count(*) FROM (SELECT customer_id FROM segment_assignments WHERE run_id = ? "
            "INTERSECT SELECT customer_id FROM segment_assignments WHERE run_id = ?)",
            [m["baseline"], m["current"]],
        ).fetchone()
    assert row is not None and total == rfm["customers_in_both"] == row[0] > 0
    html = (planted / "r2" / "report.html").read_text(encoding="utf-8")
    section = html.split('<section id="monitoring"', 1)[1].split("</section>", 1)[0]
    alerts = section.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "(recency_days): Kolmogorov–Smirnov test, p-value " in alerts
    assert "Features drifted (" in alerts
    drift = section.split('<table class="drift">', 1)[1].split("</table>", 1)[0]
    rows = drift.split("<tbody>", 1)[1].split("</tr>")[:-1]
    assert 1 < len(rows) <= 10  # at most ten features; the rest are counted
    flags = ["<strong>yes</strong>" in r for r in rows]
    assert flags == sorted(flags, reverse=True)  # drifted features first
    recency_row = next(r for r in rows if 'title="column recency_days"' in r)
    assert "<strong>yes</strong>" in recency_row and "p-value ≤ 0.05" in recency_row
