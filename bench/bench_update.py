"""Benchmark: ``segmint update`` on the 20M-line workspace (issue 13's incremental target).

    .venv/bin/python bench/bench_update.py                 # 100k new lines, 20M-line workspace
    .venv/bin/python bench/bench_update.py --no-full       # skip the full-run contender

The base workspace is what ``segmint run bench/.data/orders_20000000.parquet`` leaves (RFM,
k-means with automatic k, value tiers over about 1,000,000 customers); it is built once into
``bench/.data/update_base.duckdb`` (not timed). The new file is a week of orders after the
last one: 100,000 lines drawn from the history (new order ids, dates moved into the week
after the last order; one line in twenty from a customer the shop has not seen).

Contenders, each in a fresh process on a fresh copy of the base workspace:

* ``update``: ``segmint update new.parquet`` (import, clean, incremental features, re-score
  all customers with the stored models, store the run, compare with the previous run);
* ``full run``: ``segmint run new.parquet`` on the same copy: what a user without ``update``
  would do (re-import skipped by fingerprint, clean, every feature, refit, profiles, report).

Target: the update takes ≤ 10 s and well under the full run. Wall time includes the Python
start; peak RSS is the process's VmHWM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import DATA, ensure_data, write_section  # noqa: E402

LINES = 20_000_000
BASE = DATA / "update_base.duckdb"
SEGMINT = [sys.executable, "-c", "from segmint.cli import app; app()"]


def ensure_base(parquet: Path) -> Path:
    """The workspace after the first ``segmint run`` (built once, not timed)."""
    if not BASE.exists():
        tmp = BASE.with_suffix(".tmp.duckdb")
        tmp.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(dir=DATA) as out:
            subprocess.run([*SEGMINT, "run", str(parquet), "-w", str(tmp), "--out", out],
                           check=True, capture_output=True)  # fmt: skip
        tmp.rename(BASE)
    return BASE


def new_lines(base: Path, n: int, path: Path) -> Path:
    """``n`` lines of the week after the last order, drawn from the history (not timed)."""
    import duckdb

    con = duckdb.connect(str(base), read_only=True)
    con.execute(
        f"""COPY (
        WITH last AS (SELECT max(ordered_at) AS t FROM orders),
        picked AS (SELECT * FROM orders USING SAMPLE {n} ROWS (reservoir, 42))
        SELECT 'W' || row_number() OVER () AS order_id,
               CASE WHEN hash(customer_id) % 20 = 0 THEN 'NEW-' || customer_id
                    ELSE customer_id END AS customer_id,
               (SELECT t FROM last) + to_seconds(1 + (hash(_row) % 604800)::BIGINT) AS ordered_at,
               product_id, product_name, category, quantity, unit_price, amount, currency,
               discount, channel, status, returned
        FROM picked) TO '{path}' (FORMAT parquet)"""
    )
    con.close()
    return path


def timed(args: list[str]) -> dict[str, float]:
    """Run a segmint command in a fresh process; wall seconds and peak RSS (MB)."""
    t0 = time.perf_counter()
    r = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    peak_kb = int(r.stderr.strip().splitlines()[-1])
    return {"wall_s": wall, "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=int, default=100_000, help="new order lines")
    ap.add_argument("--no-full", action="store_true", help="skip the full-run contender")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    a = ap.parse_args()
    base = ensure_base(ensure_data(LINES))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        new = new_lines(base, a.new, Path(tmp) / "new_week.parquet")
        contenders = {"update": ["update", str(new), "--json", f"{tmp}/update.json"]}
        if not a.no_full:
            contenders["full run"] = ["run", str(new), "--out", f"{tmp}/report"]
        for name, args in contenders.items():
            ws = Path(tmp) / f"{name.replace(' ', '_')}.duckdb"
            shutil.copyfile(base, ws)
            results[name] = timed([*SEGMINT, *args, "-w", str(ws)])
            if name == "update":
                done = json.loads(Path(f"{tmp}/update.json").read_text())
                results[name]["steps"] = done["steps"]  # type: ignore[assignment]
                results[name]["rebuilt"] = done["features"]["rebuilt"]
                results[name]["customers"] = done["features"]["customers"]
            ws.unlink()
            print(name, json.dumps(results[name]))
    if not a.no_write:
        write(results, a.new)


def write(results: dict[str, dict[str, float]], new: int) -> None:
    u = results["update"]
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in u["steps"].items())  # type: ignore[attr-defined]
    rows = [
        "## Incremental update: `segmint update` on the 20M-line workspace",
        "",
        f"Command: `.venv/bin/python bench/bench_update.py`. {new:,} new order lines (a week "
        "after the last order, drawn from the history, 5 % from new customers) into the "
        "workspace `segmint run` leaves on `orders_20000000.parquet` (RFM, k-means with "
        "automatic k, value tiers); each contender in a fresh process on a fresh copy. "
        "Target (issue 13): ≤ 10 s, well under the full run.",
        "",
        "| contender | wall s | peak RSS MB |",
        "|---|---:|---:|",
        *[f"| {k} | {v['wall_s']:.1f} | {v['peak_rss_mb']:,.0f} |" for k, v in results.items()],
        "",
        f"The update rebuilt {int(u['rebuilt']):,} of {int(u['customers']):,} customers' "
        f"feature rows and re-scored all of them; its steps: {steps} (wall time also counts "
        "the Python start and opening the workspace).",
    ]
    if "full run" in results:
        ratio = results["full run"]["wall_s"] / u["wall_s"]
        rows.append(f"The full run takes {ratio:.1f}× the update's time.")
    write_section("update", "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
