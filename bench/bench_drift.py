"""Benchmark: feature drift between two 1M-customer feature tables, computed in the engine.

    .venv/bin/python bench/bench_drift.py                       # DuckDB, 1,000,000 customers
    .venv/bin/python bench/bench_drift.py --customers 100000 --spark   # also Spark local[2]

Two ``customer_features``-shaped tables (bench_snapshot's 34 columns; the second one's money
columns drawn 10 % higher) are generated in DuckDB, not timed. ``table_drift`` then compares
them where they are: four queries, only aggregates come back. For scale, it also times what
the comparison cost before any statistic when drift ran in pandas: reading both tables out
(through Arrow). With ``--spark`` the tables go to Parquet and are compared on a local[2]
Spark as well, and the two results are checked equal (the Wasserstein statistic to 1e-9).
Prints seconds (wall and the process's CPU) and peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_snapshot import COLUMNS  # noqa: E402
from run import peak_rss_mb  # noqa: E402


def build(con: Any, name: str, n: int, scale: float) -> None:
    ints, doubles, stamps, texts, bools = COLUMNS
    cols = ["'C' || lpad(range::VARCHAR, 8, '0') AS customer_id"]
    cols += [f"(random() * 700)::BIGINT AS {c}" for c in ints]
    cols += [f"round(random() * 1000 * {scale}, 2) AS {c}" for c in doubles]
    cols += [
        f"TIMESTAMP '2023-01-01' + to_seconds((random() * 6e7)::BIGINT) AS {c}" for c in stamps
    ]
    cols += [f"'v' || (random() * 12)::INTEGER AS {c}" for c in texts]
    cols += [f"random() < 0.5 AS {c}" for c in bools]
    con.raw_sql(f"CREATE TABLE {name} AS SELECT {', '.join(cols)} FROM range({n})")


def timed(out: dict[str, float], key: str, work: Any) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    out[f"{key}_s"] = round(time.perf_counter() - wall, 2)
    out[f"{key}_cpu_s"] = round(time.process_time() - cpu, 2)
    out[f"{key}_peak_rss_mb"] = peak_rss_mb()
    return result


def main() -> None:
    import ibis

    from segmint.monitor.drift import table_drift

    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--spark", action="store_true")
    args = parser.parse_args()
    con = ibis.duckdb.connect()
    build(con, "baseline", args.customers, 1.0)
    build(con, "current", args.customers, 1.1)
    out: dict[str, float] = {"peak_rss_mb_before": peak_rss_mb()}
    base, cur = con.table("baseline"), con.table("current")
    on_duckdb = timed(out, "duckdb_table_drift", lambda: table_drift(base, cur))
    timed(out, "read_both_out", lambda: [t.to_pyarrow().to_pandas() for t in (base, cur)])
    if args.spark:
        from segmint.store.spark import spark_session

        spark = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("baseline", "current"):
                con.raw_sql(f"COPY {name} TO '{tmp}/{name}.parquet' (FORMAT parquet)")
            sp = ibis.pyspark.connect(spark)
            tables = [sp.read_parquet(f"{tmp}/{n}.parquet") for n in ("baseline", "current")]
            on_spark = timed(out, "spark_table_drift", lambda: table_drift(*tables))
        for s, d in zip(on_spark, on_duckdb, strict=True):
            assert (s.feature, s.method, s.drifted, s.psi) == (
                d.feature,
                d.method,
                d.drifted,
                d.psi,
            )
            assert abs(s.statistic - d.statistic) <= 1e-9 * abs(d.statistic) or s.method == "none"
    drifted = [r.feature for r in on_duckdb if r.drifted]
    print(f"{args.customers:,} customers × {sum(map(len, COLUMNS))} feature columns")
    print(f"drifted: {', '.join(drifted)}")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
