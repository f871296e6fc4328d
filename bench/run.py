"""Benchmark: ingest + basic RFM features on generated order lines, against plain DuckDB and pandas.

    .venv/bin/python bench/run.py                      # 2M and 20M lines (writes BENCHMARKS.md)
    .venv/bin/python bench/run.py --sizes 200000       # a quick run

Every measured step runs in its own fresh Python process, so its wall time includes reading
the Parquet file and its peak RSS (from ``wait4``) is its own. The same definitions of the
features are used by all three contenders (see docs/features.md).

* ``segmint``        Workspace.ingest(parquet) into a new DuckDB workspace + Workspace.features()
* ``duckdb-load``    raw DuckDB: CREATE TABLE orders AS read_parquet(...) + CREATE TABLE rfm AS ...
* ``duckdb-direct``  raw DuckDB: CREATE TABLE rfm AS ... straight from read_parquet (no load)
* ``pandas``         pandas.read_parquet + groupby
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
LINES_PER_CUSTOMER = 20

RFM_SQL = """
CREATE TABLE rfm AS
WITH t AS (SELECT * FROM {src} WHERE customer_id IS NOT NULL AND ordered_at <= TIMESTAMP '{as_of}')
SELECT customer_id,
  date_diff('day', CAST(max(ordered_at) FILTER (WHERE status IN ('paid','refunded') AND amount >= 0) AS DATE), DATE '{day}') AS recency_days,
  count(DISTINCT order_id) FILTER (WHERE status IN ('paid','refunded') AND amount >= 0) AS frequency,
  round(coalesce(sum(amount) FILTER (WHERE status = 'paid' OR amount < 0), 0), 2) AS monetary_total,
  date_diff('day', CAST(min(ordered_at) FILTER (WHERE status IN ('paid','refunded') AND amount >= 0) AS DATE), DATE '{day}') AS tenure_days
FROM t GROUP BY customer_id
"""


def step_segmint(parquet: str, workdir: str) -> dict[str, float]:
    import segmint
    from segmint.features import resolve_as_of
    from segmint.features.basic import customer_basics

    t0 = time.perf_counter()
    ws = segmint.Workspace(Path(workdir) / "bench.duckdb")
    res = ws.ingest(parquet)
    t1 = time.perf_counter()
    # the same basic features the other contenders compute (ws.features() builds every
    # family since issue 3: that is the end-to-end benchmark's business)
    orders = ws.table("orders")
    expr = customer_basics(orders, resolve_as_of(orders, None))
    ws.store.ibis.create_table("rfm", expr)
    n = ws.store.count("rfm")
    t2 = time.perf_counter()
    ws.close()
    return {"rows": res.rows, "customers": int(n), "ingest_s": t1 - t0, "features_s": t2 - t1}


def _as_of(con: object, src: str) -> tuple[str, str]:
    last = con.execute(f"SELECT max(ordered_at) FROM {src}").fetchone()[0]  # type: ignore[attr-defined]
    return str(last), str(last.date())


def step_duckdb(parquet: str, workdir: str, load: bool) -> dict[str, float]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(Path(workdir) / "raw.duckdb"))
    src = f"read_parquet('{parquet}')"
    if load:
        con.execute(f"CREATE TABLE orders AS SELECT * FROM {src}")
        src = "orders"
    t1 = time.perf_counter()
    as_of, day = _as_of(con, src)
    con.execute(RFM_SQL.format(src=src, as_of=as_of, day=day))
    n = con.execute("SELECT count(*) FROM rfm").fetchone()[0]  # type: ignore[index]
    t2 = time.perf_counter()
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0]  # type: ignore[index]
    con.close()
    return {"rows": rows, "customers": n, "ingest_s": t1 - t0, "features_s": t2 - t1}


def step_pandas(parquet: str, workdir: str) -> dict[str, float]:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(
        parquet, columns=["order_id", "customer_id", "ordered_at", "amount", "status"]
    )
    t1 = time.perf_counter()
    as_of = df.ordered_at.max()
    o = df[df.customer_id.notna() & (df.ordered_at <= as_of)]
    purchase = o.status.isin(["paid", "refunded"]) & (o.amount >= 0)
    revenue = (o.status == "paid") | (o.amount < 0)
    p = o[purchase]
    g = p.groupby("customer_id")
    out = pd.DataFrame(
        {
            "frequency": g.order_id.nunique(),
            "last": g.ordered_at.max(),
            "first": g.ordered_at.min(),
        }
    )
    out["monetary_total"] = o[revenue].groupby("customer_id").amount.sum().round(2)
    day = as_of.normalize()
    out["recency_days"] = (day - out["last"].dt.normalize()).dt.days
    out["tenure_days"] = (day - out["first"].dt.normalize()).dt.days
    t2 = time.perf_counter()
    return {"rows": len(df), "customers": len(out), "ingest_s": t1 - t0, "features_s": t2 - t1}


STEPS = {
    "segmint": step_segmint,
    "duckdb-load": lambda p, w: step_duckdb(p, w, load=True),
    "duckdb-direct": lambda p, w: step_duckdb(p, w, load=False),
    "pandas": step_pandas,
}


def run_child(step: str, parquet: Path) -> dict[str, float]:
    """Run one step in a fresh process; return its timings, wall time and peak RSS."""
    with tempfile.TemporaryDirectory(dir=DATA) as workdir:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", step, str(parquet), workdir],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        status = proc.wait()
        wall = time.perf_counter() - t0
        if status != 0:
            raise SystemExit(f"step {step} failed (status {status})")
        result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
        result["wall_s"] = wall
        return result


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: for a forked child that
    also counts the parent's pages at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, table: str) -> None:
    """Put ``table`` between BENCHMARKS.md's ``<!-- bench:NAME:start/end -->`` markers
    (appended at the end when the markers are new)."""
    path = HERE.parent / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def ensure_data(lines: int) -> Path:
    from segmint.datasets import write_orders_parquet

    DATA.mkdir(exist_ok=True)
    path = DATA / f"orders_{lines}.parquet"
    if not path.exists():
        customers = lines // LINES_PER_CUSTOMER
        t0 = time.perf_counter()
        n = write_orders_parquet(path, customers, seed=0, lines_per_customer=LINES_PER_CUSTOMER)
        print(
            f"generated {n:,} lines for {customers:,} customers in "
            f"{time.perf_counter() - t0:.1f} s -> {path}",
            flush=True,
        )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000000,20000000", help="order lines, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="runs per step; the best is kept")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument(
        "--child", nargs=3, metavar=("STEP", "PARQUET", "WORKDIR"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        step, parquet, workdir = args.child
        result = STEPS[step](parquet, workdir)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result, default=float))
        return
    results: dict[int, dict[str, dict[str, float]]] = {}
    for lines in [int(s) for s in args.sizes.split(",")]:
        parquet = ensure_data(lines)
        results[lines] = {}
        for step in STEPS:
            best: dict[str, float] | None = None
            for _ in range(args.repeat):
                r = run_child(step, parquet)
                if best is None or r["wall_s"] < best["wall_s"]:
                    best = r
            assert best is not None
            results[lines][step] = best
            print(
                f"{lines:>11,} lines  {step:<14} wall {best['wall_s']:7.2f} s  "
                f"ingest {best['ingest_s']:6.2f} s  features {best['features_s']:6.2f} s  "
                f"peak {best['peak_rss_mb']:7.0f} MB",
                flush=True,
            )
    if not args.no_write:
        write_markdown(results, " ".join(sys.argv[1:]))


def write_markdown(results: dict[int, dict[str, dict[str, float]]], argv: str) -> None:
    start, end = "<!-- bench:ingest:start -->", "<!-- bench:ingest:end -->"
    cmd = ".venv/bin/python bench/run.py" + (f" {argv}" if argv else "")
    lines = [
        start,
        "## Ingest + basic features (recency, frequency, monetary, tenure)",
        "",
        f"Command: `{cmd}` (or `make bench`). Measured {datetime.now(UTC):%Y-%m-%d} on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Generated orders (`segmint.datasets.write_orders_parquet`, 20 lines per customer) "
        "read from one Parquet file. Each contender runs in a fresh process: *wall* includes "
        "process start and imports; *ingest* and *features* are the two steps' own times; "
        "peak RSS is that process's maximum resident memory.",
        "",
        "| lines | contender | wall s | ingest s | features s | lines/s (ingest+features) | "
        "peak RSS MB | segmint ÷ this (ingest+features) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, steps in results.items():
        seg = steps["segmint"]["ingest_s"] + steps["segmint"]["features_s"]
        for name, r in steps.items():
            work = r["ingest_s"] + r["features_s"]
            lines.append(
                f"| {n:,} | {name} | {r['wall_s']:.2f} | {r['ingest_s']:.2f} | "
                f"{r['features_s']:.2f} | {n / work:,.0f} | {r['peak_rss_mb']:,.0f} | "
                f"{seg / work:.2f}× |"
            )
    lines += ["", end]
    block = "\n".join(lines)
    path = HERE.parent / "BENCHMARKS.md"
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else (
            "# Benchmarks\n\nAll numbers are measured by the commands shown; nothing here is "
            "estimated. Ratios compare contenders measured in the same run.\n\n"
        )
    )
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
