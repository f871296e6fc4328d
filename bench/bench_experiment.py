"""Benchmark: analyzing a 10M-row split-test results file.

    .venv/bin/python bench/bench_experiment.py                  # 10,000,000 rows, CSV + Parquet
    .venv/bin/python bench/bench_experiment.py --rows 200000 --no-write

Target (issue 12): the analysis of a 10M-row results file takes under 10 s.

The file (generated once into bench/.data, not timed): one row per customer with ``arm``
(A, B, control at 45/45/10 %), ``segment`` (12 values), ``converted`` (0/1) and ``revenue``
(0 unless converted, then lognormal), as a CSV (the usual export) and as Parquet.

Each contender runs in a fresh process; *time* is the analysis from the file path to the
result (reading included), *peak RSS* the process's VmHWM:

* ``segmint``  ``segmint.measure.analyze.analyze(...)``: ingest's readers stage the file,
  one DuckDB aggregate gives n / sum / sum of squares per arm × segment × metric, then every
  comparison (frequentist and Bayesian, Holm across 12 segments, SRM per segment);
* ``pandas``   ``read_csv``/``read_parquet`` of the four columns and a ``groupby`` computing
  the same sufficient statistics (no inference: it takes milliseconds);
* ``duckdb``   one hand-written aggregate over ``read_csv``/``read_parquet`` (the floor).

The script checks that the three agree on every count and sum.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import peak_rss_mb, write_section  # noqa: E402

DATA = HERE / ".data"
TARGET_S = 10.0
METRICS = ("converted", "revenue")


def ensure_files(rows: int) -> dict[str, Path]:
    import duckdb

    DATA.mkdir(exist_ok=True)
    out = {fmt: DATA / f"experiment_{rows}.{fmt}" for fmt in ("csv", "parquet")}
    if all(p.exists() for p in out.values()):
        return out
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.12)")
    con.execute(
        f"""CREATE TABLE t AS
        WITH r AS (SELECT i, random() AS u, random() AS v, random() AS w FROM range({rows}) x(i))
        SELECT 'c' || i AS customer_id,
               CASE WHEN u < 0.45 THEN 'A' WHEN u < 0.90 THEN 'B' ELSE 'control' END AS arm,
               'S' || lpad(CAST(i % 12 AS VARCHAR), 2, '0') AS segment,
               CAST(v < CASE WHEN u < 0.45 THEN 0.052 WHEN u < 0.90 THEN 0.05 ELSE 0.048 END
                    AS INTEGER) AS converted
        FROM r"""
    )
    con.execute(
        "ALTER TABLE t ADD COLUMN revenue DOUBLE; UPDATE t SET revenue = CASE WHEN converted = 1 "
        "THEN round(exp(3.5 + 0.8 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())), 2) "
        "ELSE 0 END"
    )
    con.execute(f"COPY t TO '{out['csv']}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY t TO '{out['parquet']}' (FORMAT parquet)")
    print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------
# Contenders (each in a fresh process: `python bench_experiment.py --child NAME PATH`)
# ---------------------------------------------------------------------------------------------


def run_segmint(path: Path) -> dict[str, Any]:
    from segmint.measure.analyze import ALL, analyze

    t0 = time.perf_counter()
    a = analyze(path, variant_column="arm", control="control", metrics=list(METRICS), by="segment")
    seconds = time.perf_counter() - t0
    sums = {}
    for c in a.comparisons:
        if c.segment == ALL:
            sums[f"{c.metric}/{c.variant}"] = [c.treatment_stat.n, c.treatment_stat.sum]
            sums[f"{c.metric}/control"] = [c.control_stat.n, c.control_stat.sum]
    return {"seconds": seconds, "sums": sums, "comparisons": len(a.comparisons)}


def run_pandas(path: Path) -> dict[str, Any]:
    import pandas as pd

    t0 = time.perf_counter()
    cols = ["arm", "segment", *METRICS]
    df = (
        pd.read_parquet(path, columns=cols)
        if path.suffix == ".parquet"
        else pd.read_csv(path, usecols=cols)
    )
    for m in METRICS:
        df[f"{m}_sq"] = df[m] * df[m]
    g = df.groupby(["arm", "segment"]).agg(
        **{f"{m}_{key}": (col, f) for m in METRICS
           for key, col, f in (("count", m, "count"), ("sum", m, "sum"), ("sq", f"{m}_sq", "sum"))}
    )  # fmt: skip
    overall = g.groupby(level="arm").sum()
    seconds = time.perf_counter() - t0
    sums = {
        f"{m}/{arm}": [int(overall.loc[arm, f"{m}_count"]), float(overall.loc[arm, f"{m}_sum"])]
        for m in METRICS
        for arm in overall.index
    }
    return {"seconds": seconds, "sums": sums}


def run_duckdb(path: Path) -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    rows = duckdb.sql(
        "SELECT arm, segment, "
        + ", ".join(f"count({m}), sum({m}), sum({m} * {m})" for m in METRICS)
        + f" FROM {reader}('{path}') GROUP BY ALL"
    ).fetchall()
    seconds = time.perf_counter() - t0
    sums: dict[str, list[float]] = {}
    for r in rows:
        for i, m in enumerate(METRICS):
            acc = sums.setdefault(f"{m}/{r[0]}", [0, 0.0])
            acc[0] += r[2 + 3 * i]
            acc[1] += r[3 + 3 * i]
    return {"seconds": seconds, "sums": sums}


CONTENDERS = {"segmint": run_segmint, "pandas": run_pandas, "duckdb": run_duckdb}


def child(name: str, path: Path) -> None:
    out = CONTENDERS[name](path)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def measure(name: str, path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t0
    return out


def check(results: dict[str, dict[str, Any]]) -> None:
    ref = results["duckdb"]["sums"]
    for name, r in results.items():
        for key, (n, s) in ref.items():
            got = r["sums"][key]
            assert got[0] == n, (name, key, got, n)
            assert abs(got[1] - s) <= 1e-9 * max(1.0, abs(s)), (name, key, got, s)


def render(rows: int, table: dict[str, dict[str, dict[str, Any]]], argv: str) -> str:
    cmd = ".venv/bin/python bench/bench_experiment.py" + (f" {argv}" if argv else "")
    lines = [
        f"`{cmd}` — {datetime.now(UTC):%Y-%m-%d}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; {rows:,} rows (arm, segment of 12, converted, revenue); "
        f"target: segmint under {TARGET_S:.0f} s.",
        "",
        "| file | contender | analysis (s) | process wall (s) | peak RSS (MB) |",
        "|---|---|---:|---:|---:|",
    ]
    for fmt, results in table.items():
        for name, r in results.items():
            lines.append(
                f"| {fmt} | {name} | {r['seconds']:.2f} | {r['wall']:.2f} | "
                f"{r['peak_rss_mb']:,.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    files = ensure_files(args.rows)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for fmt, path in files.items():
        results = {name: measure(name, path) for name in CONTENDERS}
        check(results)
        table[fmt] = results
        for name, r in results.items():
            print(f"{fmt:8} {name:8} {r['seconds']:6.2f} s  wall {r['wall']:6.2f} s  "
                  f"{r['peak_rss_mb']:7,.0f} MB")  # fmt: skip
    text = render(args.rows, table, " ".join(sys.argv[1:]))
    print(text)
    if not args.no_write:
        write_section("experiment", text)
    worst = max(r["segmint"]["seconds"] for r in table.values())
    if worst > TARGET_S:
        print(f"segmint took {worst:.1f} s, over the {TARGET_S:.0f} s target", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
