"""Benchmark: the cost of a run's feature snapshot on 1M customers.

    .venv/bin/python bench/bench_snapshot.py                  # 1,000,000 customers
    .venv/bin/python bench/bench_snapshot.py --customers 100000

A workspace gets a ``customer_features`` table shaped like the one ``segmint run`` builds on
the 20M-line benchmark (34 columns: BIGINT counts, DOUBLE money and rates, timestamps, a few
low-cardinality texts and booleans; generated in DuckDB, not timed). A fresh process then
opens it and does what a snapshot costs in ``segmint run``: recording it in the segment run's
transaction (``Store.snapshot_features``, as ``_persist`` does), and keeping the table when
the next features run replaces it (``retire_features``: a rename instead of a drop). For
comparison it also times copying the table (``INSERT … SELECT``, the design not taken). It
prints seconds (wall and the process's CPU), peak RSS before and after (VmHWM), and the size
of the kept table in the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import peak_rss_mb  # noqa: E402

COLUMNS = (
    ["recency_days", "frequency", "tenure_days", "age"],  # BIGINT
    [
        "monetary_total",
        "avg_order_value",
        "interpurchase_mean_days",
        "interpurchase_std_days",
        "revenue_last_90d",
        "revenue_prev_90d",
        "discount_share",
        "discount_rate",
        "return_rate",
        "income",
        "annual_revenue",
        "share_cat_a",
        "share_cat_b",
        "share_cat_c",
        "share_cat_d",
        "share_channel_web",
        "share_channel_store",
    ],  # DOUBLE
    ["first_order_at", "last_order_at"],  # TIMESTAMP
    ["income_band", "gender", "education", "country", "region", "city", "urban_rural"],  # text
    ["consent_email", "consent_sms", "has_email", "has_phone"],  # BOOLEAN
)


def build(path: Path, n: int) -> None:
    import duckdb

    ints, doubles, stamps, texts, bools = COLUMNS
    cols = ["'C' || lpad(range::VARCHAR, 8, '0') AS customer_id"]
    cols += [f"(random() * 700)::BIGINT AS {c}" for c in ints]
    cols += [f"round(random() * 1000, 2) AS {c}" for c in doubles]
    cols += [
        f"TIMESTAMP '2023-01-01' + to_seconds((random() * 6e7)::BIGINT) AS {c}" for c in stamps
    ]
    cols += [f"'v' || (random() * 12)::INTEGER AS {c}" for c in texts]
    cols += [f"random() < 0.5 AS {c}" for c in bools]
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE customer_features AS SELECT {', '.join(cols)} FROM range({n})")
    con.execute(
        "CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, seq INTEGER, kind VARCHAR, "
        "started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, source VARCHAR, "
        "fingerprint VARCHAR, spec JSON, row_counts JSON, message VARCHAR)"
    )
    con.execute("INSERT INTO runs (run_id, seq, kind) VALUES ('0001-features', 1, 'features')")
    con.execute("CHECKPOINT")
    con.close()


def child(path: Path) -> dict[str, float]:
    from segmint.store import Store
    from segmint.store.snapshots import retire_features

    store = Store(path)
    store.table("customer_features").count().execute()
    before = peak_rss_mb()
    out: dict[str, float] = {"peak_rss_mb_before": before}

    def timed(key: str, work: Any) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        with store.transaction():
            work()
        out[f"{key}_s"] = round(time.perf_counter() - wall, 3)
        out[f"{key}_cpu_s"] = round(time.process_time() - cpu, 3)
        out[f"{key}_peak_rss_mb"] = peak_rss_mb()

    timed("record", lambda: store.snapshot_features("0002-segment"))
    timed("retire", lambda: retire_features(store))
    store.db.execute("CHECKPOINT")
    size = store.db.execute(
        "SELECT sum(block_size * 1.0) FROM (SELECT DISTINCT block_id, 262144 AS block_size "
        "FROM pragma_storage_info('feature_snapshot_0001') WHERE block_id IS NOT NULL)"
    ).fetchone()
    out["kept_table_mb"] = round(float(size[0] or 0) / (1 << 20), 1) if size else 0.0
    store.db.execute("CREATE TABLE copy_target AS SELECT * FROM feature_snapshot_0001 LIMIT 0")
    timed(
        "copy_for_comparison",
        lambda: store.db.execute("INSERT INTO copy_target SELECT * FROM feature_snapshot_0001"),
    )
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--child", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.duckdb"
        build(path, args.customers)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.customers:,} customers × {sum(map(len, COLUMNS))} feature columns")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
