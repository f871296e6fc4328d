"""The Polars peer of bench/bench_run.py does the same work as segmint and as the pandas
reference: `--check --peers polars` passes on a tiny generated file (features, cleaning counts
and RFM segments equal segmint's), and on lines with the gaps real exports have (guests,
missing amounts, discounts, order ids, categories, refunds as negative lines) the Polars
steps compute what the pandas reference's steps compute."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmint.datasets import write_orders_parquet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_run  # noqa: E402
import ref_polars  # noqa: E402


@pytest.mark.slow
def test_polars_peer_passes_the_check_on_a_tiny_file(tmp_path: Path) -> None:
    parquet = tmp_path / "orders.parquet"
    write_orders_parquet(parquet, 400, seed=3, lines_per_customer=20)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_run.py"),
            "--check",
            str(parquet),
            "--peers",
            "polars",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "-- polars:" in proc.stdout
    assert "RFM: 100.00% of customers in the same segment as segmint" in proc.stdout
    assert "check passed: polars" in proc.stdout


def _gappy_lines(tmp_path: Path) -> Path:
    """A generated file with holes punched in it, and exact duplicate lines added."""
    clean = tmp_path / "clean.parquet"
    write_orders_parquet(clean, 300, seed=5, lines_per_customer=20)
    df = pd.read_parquet(clean)
    rng = np.random.default_rng(0)
    n = len(df)
    for column, share in (
        ("customer_id", 0.03),
        ("order_id", 0.02),
        ("amount", 0.02),
        ("discount", 0.05),
        ("returned", 0.05),
        ("category", 0.04),
        ("status", 0.01),
    ):
        df[column] = df[column].astype(object)
        df.loc[rng.random(n) < share, column] = None
    df["amount"] = df["amount"].astype("float64")
    refund = rng.random(n) < 0.03
    df.loc[refund, "amount"] = -df.loc[refund, "amount"].abs()
    df.loc[rng.random(n) < 0.02, "status"] = "pending"
    df = pd.concat([df, df.sample(200, random_state=1)], ignore_index=True)
    path = tmp_path / "gappy.parquet"
    df.to_parquet(path)
    return path


def test_polars_steps_equal_the_pandas_reference_on_gappy_lines(tmp_path: Path) -> None:
    path = _gappy_lines(tmp_path)
    lines, quality = ref_polars.pl_read_clean(str(path))
    features, as_of = ref_polars.pl_features(lines)
    labels, details = ref_polars.pl_rfm(features)

    df, expected_quality = bench_run.ref_clean(pd.read_parquet(path))
    expected = bench_run.ref_features(df)
    expected_labels, expected_details = bench_run.ref_rfm(
        expected.drop(columns=["first_order_at", "last_order_at"])
    )

    assert quality["marked"]["guest_lines"] > 0 and quality["duplicates_removed"] >= 200
    for key in ("rows_before", "rows", "duplicates_removed", "marked", "outliers", "customers"):
        assert quality[key] == expected_quality[key], key
    assert {c: v["missing"] for c, v in quality["columns"].items()} == {
        c: v["missing"] for c, v in expected_quality["columns"].items()
    }
    assert as_of == expected.attrs["as_of"]
    mine = features.to_pandas().set_index("customer_id")
    assert list(mine.index) == list(expected.index)
    assert list(mine.columns) == list(expected.columns)
    for c in expected.columns:
        a, b = mine[c], expected[c]
        if pd.api.types.is_datetime64_any_dtype(b):
            assert ((a == b) | (a.isna() & b.isna())).all(), c
            continue
        x, y = a.to_numpy("float64", na_value=np.nan), b.to_numpy("float64", na_value=np.nan)
        same = np.isclose(x, y, rtol=1e-9, atol=0.0) | (np.isnan(x) & np.isnan(y))
        if c == "avg_order_value":  # an exact half cent rounds by the float sum's last bit
            same |= np.abs(x - y) <= 0.01 + 1e-9
        assert same.all(), f"{c}: {mine.index[~same][:3].tolist()}"
    assert labels["label"].to_list() == expected_labels.tolist()
    assert details == expected_details
