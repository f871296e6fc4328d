"""Benchmark: how `segmint run` scales with the number of order lines (2M, 20M, 200M).

    .venv/bin/python bench/bench_scale.py                         # 2M, 20M, 200M lines
    .venv/bin/python bench/bench_scale.py --sizes 200000,2000000 --no-write

Each size is one fresh process running ``segmint run FILE`` with a spec of one RFM and one
k-means (k: auto) segmentation (the end-to-end benchmark's *segmint-no-value*) on generated
orders (``segmint.datasets.write_orders_parquet``, 20 lines per customer: 2M lines are
100,000 customers, 200M lines 10M customers), read from one Parquet file, with DuckDB's
default memory cap. Above 1M customers the run fits and profiles on a sample of 1M and
assigns every customer inside DuckDB (``segmint/_run/_large.py``), so memory stays flat.

Recorded per size: wall time of the run (imports excluded; the child's own clock), CPU time
of the process (user + system, all threads: less sensitive than wall time to other work on
the machine), both per order line, the peak RSS (VmHWM), and the time of each step (from the
run's progress messages). Target (issue 19): time per line at 200M within 1.2× of 20M's,
peak RSS ≤ 2 GB. The log-log plot (bench/scale.svg) shows wall and CPU seconds against lines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import DATA, ensure_data, peak_rss_mb, write_section  # noqa: E402

SPEC = (
    "segmentations:\n  - {name: rfm, method: rfm}\n  - {name: clusters, method: kmeans, k: auto}\n"
)
RATIO_TARGET = 1.2
RSS_TARGET_MB = 2048


def child(parquet: str, workdir: str) -> dict[str, Any]:
    """One run, in this (fresh) process: step times from the progress messages."""
    from segmint import Workspace
    from segmint._run import run_pipeline
    from segmint.spec import load_spec

    spec_path = Path(workdir) / "no-value.yaml"
    spec_path.write_text(SPEC)
    spec = load_spec(spec_path)
    spec = spec.model_copy(update={"sources": [*spec.sources, _source(parquet)]})
    steps: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    c0 = _cpu()

    def say(message: str) -> None:
        steps.append((message, time.perf_counter() - t0))

    with Workspace(Path(workdir) / "w.duckdb") as ws:
        out = run_pipeline(ws, spec, out_dir=Path(workdir) / "report", progress=say)
    work = time.perf_counter() - t0
    cpu = _cpu() - c0
    named = [
        (m, b - a) for (m, a), (_m2, b) in zip(steps, [*steps[1:], ("end", work)], strict=True)
    ]
    return {
        "work_s": work,
        "cpu_s": cpu,
        "customers": max(s.n_customers for s in out.report.segmentations),
        "steps": _grouped(named),
        "peak_rss_mb": peak_rss_mb(),
    }


def _source(parquet: str) -> Any:
    from segmint.spec.model import SourceSpec

    return SourceSpec(path=parquet)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _grouped(named: list[tuple[str, float]]) -> dict[str, float]:
    """Step times summed into the pipeline's stages."""
    stages = {
        "import": ("Importing", "Sniffing", "Reading", "Mapping", "Checking", "Writing"),
        "clean": ("Cleaning",),
        "features": ("Computing features",),
        "segment + profile": ("Segmenting", "Profiling", "Drawing"),
        "save + report": ("Saving", "Comparing", "Writing the report"),
    }
    out = dict.fromkeys(stages, 0.0)
    for message, seconds in named:
        for stage, starts in reversed(list(stages.items())):
            if message.startswith(starts):
                out[stage] += seconds
                break
    return out


def run_size(lines: int) -> dict[str, Any]:
    parquet = ensure_data(lines)
    with tempfile.TemporaryDirectory(dir=DATA) as workdir:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(parquet), workdir],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{lines:,} lines failed:\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    import pyarrow.parquet as pq

    result["lines"] = pq.ParquetFile(parquet).metadata.num_rows
    result["wall_s"] = wall
    print(json.dumps(result), flush=True)
    return result


def table(results: list[dict[str, Any]], load: tuple[float, float]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    head = (
        "## Scaling: time per order line from 2M to 200M lines\n\n"
        "Command: `.venv/bin/python bench/bench_scale.py`. Measured "
        f"{when} UTC on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (1-min load average {load[0]:.1f} at the start, "
        f"{load[1]:.1f} at the end). `segmint run FILE` with RFM + k-means (auto k), each size "
        "in a fresh process; *run s* excludes imports; *CPU s* is user + system time of all "
        "the process's threads. Plot: [bench/scale.svg](bench/scale.svg).\n\n"
        "| lines | customers | run s | CPU s | µs per line (run) | µs per line (CPU) | "
        "import s | clean s | features s | segment + profile s | save + report s | "
        "peak RSS MB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for r in results:
        s = r["steps"]
        rows.append(
            f"| {r['lines']:,} | {r['customers']:,} | {r['work_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{1e6 * r['work_s'] / r['lines']:.2f} | {1e6 * r['cpu_s'] / r['lines']:.2f} | "
            f"{s['import']:.1f} | {s['clean']:.1f} | {s['features']:.1f} | "
            f"{s['segment + profile']:.1f} | {s['save + report']:.1f} | "
            f"{r['peak_rss_mb']:,.0f} |"
        )
    lines_by = {round(r["lines"], -6): r for r in results}
    notes = []
    big = max(results, key=lambda r: r["lines"])
    mid = [r for r in results if r is not big]
    if mid:
        ref = max(mid, key=lambda r: r["lines"])
        per = [(x["work_s"] / x["lines"], x["cpu_s"] / x["lines"]) for x in (ref, big)]
        wall_ratio, cpu_ratio = per[1][0] / per[0][0], per[1][1] / per[0][1]
        ok = wall_ratio <= RATIO_TARGET
        notes.append(
            f"- Target: time per line at {big['lines']:,} lines within {RATIO_TARGET}× of "
            f"{ref['lines']:,} lines': {wall_ratio:.2f}× wall, {cpu_ratio:.2f}× CPU: "
            f"{'met' if ok else 'not met'}."
        )
    peak = max(r["peak_rss_mb"] for r in results)
    notes.append(
        f"- Target: peak RSS ≤ 2 GB at every size: largest {peak:,.0f} MB: "
        f"{'met' if peak <= RSS_TARGET_MB else 'not met'}."
    )
    del lines_by
    return "\n".join([head, *rows, "", *notes])


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """A log-log plot of run and CPU seconds against order lines, as a small SVG (no plotting
    library is a dependency of segmint; the axes are drawn by hand)."""
    w, h, pad = 560, 360, 60
    xs = [r["lines"] for r in results]
    ys = [v for r in results for v in (r["work_s"], r["cpu_s"])]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def px(x: float) -> float:
        return pad + (math.log10(x) - x0) / (x1 - x0) * (w - 2 * pad)

    def py(y: float) -> float:
        return h - pad - (math.log10(y) - y0) / (y1 - y0) * (h - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
    ]
    for e in range(x0, x1 + 1):
        x = px(10**e)
        parts.append(
            f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{h - pad}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{h - pad + 16}" text-anchor="middle">1e{e}</text>'
        )
    for e in range(y0, y1 + 1):
        y = py(10**e)
        parts.append(
            f'<line x1="{pad}" y1="{y:.1f}" x2="{w - pad}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{pad - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} s</text>'
        )
    # the line of constant cost per line through the smallest size's run time
    first = min(results, key=lambda r: r["lines"])
    k = first["work_s"] / first["lines"]
    parts.append(
        f'<line x1="{px(10**x0):.1f}" y1="{py(max(k * 10**x0, 10**y0)):.1f}" '
        f'x2="{px(10**x1):.1f}" y2="{py(min(k * 10**x1, 10**y1)):.1f}" stroke="#999" '
        'stroke-dasharray="4 4"/>'
    )
    for key, colour, label in (("work_s", "#1f77b4", "run s"), ("cpu_s", "#d62728", "CPU s")):
        pts = " ".join(f"{px(r['lines']):.1f},{py(r[key]):.1f}" for r in results)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in results:
            parts.append(
                f'<circle cx="{px(r["lines"]):.1f}" cy="{py(r[key]):.1f}" r="4" fill="{colour}"/>'
            )
        ly = 20 if key == "work_s" else 36
        parts.append(
            f'<text x="{w - pad}" y="{ly}" text-anchor="end" fill="{colour}">{label}</text>'
        )
    parts.append(
        f'<text x="{w / 2}" y="{h - 14}" text-anchor="middle">order lines (log)</text>'
        f'<text x="{pad}" y="20">segmint run, RFM + k-means; dashed: linear from the '
        "smallest size</text></svg>"
    )
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000000,20000000,200000000", help="order lines")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    before = os.getloadavg()[0]
    results = [run_size(int(s)) for s in args.sizes.split(",")]
    text = table(results, (before, os.getloadavg()[0]))
    print(text)
    if not args.no_write:
        plot(results, HERE / "scale.svg")
        write_section("scale", text)


if __name__ == "__main__":
    main()
