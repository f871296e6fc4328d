"""Benchmark: the zero-config `segmint run` on Spark (local[2]) against the embedded engine.

    .venv/bin/python bench/bench_spark.py                      # 20M lines / 1M customers
    .venv/bin/python bench/bench_spark.py --lines 2000000      # a quicker run

Both contenders run ``segmint run FILE`` (RFM, k-means with automatic k, value tiers; import,
clean, features, profiles, report) on the same generated Parquet file, each in a fresh
process: DuckDB (the default engine) and ``--engine spark --spark-master local[2]`` with
``spark.driver.memory`` as given (default 4g; in local mode the executors live in the driver's
JVM). Wall time includes the imports and, for Spark, starting the JVM. Peak memory is the
largest resident set of the whole process tree (Python plus the JVM), sampled every 0.2 s.

The per-core throughput (order lines per second per core) on Spark is what docs/scale.md
projects a cluster from.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import DATA, ensure_data  # noqa: E402

START, END = "<!-- bench:spark:start -->", "<!-- bench:spark:end -->"


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def contender(name: str, parquet: Path, workdir: Path, memory: str) -> dict[str, Any]:
    exe = Path(sys.executable).with_name("segmint")
    args = [str(exe), "run", str(parquet), "--out", str(workdir / "report")]
    if name == "spark local[2]":
        args += [
            "--engine",
            "spark",
            "--spark-master",
            "local[2]",
            "-w",
            str(workdir / "spark"),
            "--spark-conf",
            f"spark.driver.memory={memory}",
        ]
    else:
        args += ["-w", str(workdir / "w.duckdb")]
    peak = [0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out[-4000:]}")
    return {"wall_s": wall, "peak_mb": peak[0] / 2**20}


def write(results: dict[str, dict[str, Any]], lines: int, argv: str) -> None:
    spark, duck = results["spark local[2]"], results["duckdb (embedded)"]
    per_core = lines / spark["wall_s"] / 2
    cmd = ".venv/bin/python bench/bench_spark.py" + (f" {argv}" if argv else "")
    block = "\n".join(
        [
            START,
            "## Scale-out: `segmint run --engine spark` (local[2]) vs the embedded engine",
            "",
            f"Command: `{cmd}`. {lines:,} generated order lines (about {lines // 20:,} customers), "
            "one Parquet file, the zero-config run (RFM, k-means auto, value tiers) in a fresh "
            "process per contender; peak memory is the process tree's (Python + JVM).",
            "",
            "| contender | wall s | peak memory MB |",
            "|---|---:|---:|",
            *[f"| {k} | {v['wall_s']:.1f} | {v['peak_mb']:,.0f} |" for k, v in results.items()],
            "",
            f"Spark takes {spark['wall_s'] / duck['wall_s']:.1f}× the embedded engine's time on "
            f"this machine: {per_core:,.0f} order lines per second per core end to end, the "
            "figure docs/scale.md projects a cluster from.",
            END,
        ]
    )
    path = HERE.parent / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    if START in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20_000_000)
    ap.add_argument("--memory", default="4g", help="spark.driver.memory (default 4g)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    parquet = ensure_data(args.lines)
    results = {}
    for name in ("duckdb (embedded)", "spark local[2]"):
        with tempfile.TemporaryDirectory(dir=DATA) as workdir:
            results[name] = r = contender(name, parquet, Path(workdir), args.memory)
        print(
            f"{args.lines:,} lines  {name:<20} wall {r['wall_s']:8.1f} s  "
            f"peak {r['peak_mb']:8,.0f} MB",
            flush=True,
        )
    if not args.no_write:
        write(results, args.lines, " ".join(sys.argv[1:]))


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main()
