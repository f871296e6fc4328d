"""Benchmark: erasing one customer from the 1M-customer workspace (issue 14: under 30 s).

    .venv/bin/python bench/bench_erase.py

The workspace is what ``segmint run bench/.data/orders_20000000.parquet`` leaves (20M order
lines, about 1,000,000 customers, features, three segmentations, values; the same base as
``bench_update.py``, built once, not timed). On a fresh copy, in fresh processes:

* ``erase``: ``segmint erase --customer ID`` for the customer with the most order lines
  (find, delete from every customer table, scrub quotes, suppression list, audit row, then
  the workspace file rewritten from its live rows, which is most of the time);
* ``erase again``: a second customer on the same copy;
* ``copy floor``: DuckDB alone copying the same workspace to a new file (``COPY FROM
  DATABASE``), the floor of a rewrite: what erasure costs beyond that is segmint's.

Wall time includes the Python start; peak RSS is the process's VmHWM.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_update import LINES, SEGMINT, ensure_base, timed  # noqa: E402
from run import DATA, ensure_data, write_section  # noqa: E402

FLOOR = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute(\"SET memory_limit='1536MB'\");"
    "c.execute(f\"ATTACH '{sys.argv[2]}' AS n\"); c.execute('COPY FROM DATABASE ws TO n')"
)


def main() -> None:
    import duckdb

    base = ensure_base(ensure_data(LINES))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        ws = Path(tmp) / "ws.duckdb"
        shutil.copyfile(base, ws)
        con = duckdb.connect(str(ws), read_only=True)
        top = con.execute(
            "SELECT customer_id, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2"
        ).fetchall()
        size = ws.stat().st_size
        con.close()
        results["copy floor"] = timed([sys.executable, "-c", FLOOR, str(ws), f"{tmp}/n.duckdb"])
        Path(f"{tmp}/n.duckdb").unlink()
        for name, (cid, lines) in zip(("erase", "erase again"), top, strict=True):
            out = f"{tmp}/{name.replace(' ', '_')}.json"
            results[name] = timed([*SEGMINT, "erase", "--customer", cid, "-w", str(ws),
                                   "--json", out])  # fmt: skip
            done = json.loads(Path(out).read_text())
            results[name]["rows"] = done["total_rows"]
            results[name]["order_lines"] = lines
            results[name]["rewrite_s"] = done["file"]["seconds"]
            print(name, json.dumps(results[name]))
    write(results, size)


def write(results: dict[str, dict[str, float]], size: int) -> None:
    rows = [
        "## Erasure: one customer out of the 1M-customer workspace",
        "",
        "Command: `.venv/bin/python bench/bench_erase.py`. The workspace `segmint run` leaves on "
        "`orders_20000000.parquet` (20M order lines, 1M customers, three segmentations); each "
        "contender in a fresh process on the same copy. Target (issue 14): under 30 s.",
        "",
        "| contender | wall | peak RSS | notes |",
        "|---|---:|---:|---|",
    ]
    for name, r in results.items():
        note = (
            f"{int(r['rows']):,} rows ({int(r['order_lines'])} order lines); file rewrite "
            f"{r['rewrite_s']:.1f} s"
            if "rows" in r
            else f"DuckDB copying the {size / 1e6:,.0f} MB workspace"
        )
        rows.append(f"| {name} | {r['wall_s']:.1f} s | {r['peak_rss_mb']:,.0f} MB | {note} |")
    write_section("erase", "\n".join(rows))


if __name__ == "__main__":
    main()
