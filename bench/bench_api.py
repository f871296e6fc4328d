"""Benchmark: the REST API on loopback — one-customer scoring latency and the segment overview.

    .venv/bin/python bench/bench_api.py                       # 1M customers, 2,000 requests
    .venv/bin/python bench/bench_api.py --customers 50000 --no-write

Setup (not timed): a workspace with generated orders for ``--customers`` customers (20 lines
each, ``segmint.datasets.write_orders_parquet``), imported and segmented once (RFM + k-means
with automatic k) by ``segmint run``; then ``segmint serve`` starts in its own process.

Measured from this process over real HTTP on 127.0.0.1 (one keep-alive connection, requests one
after another, after 50 warm-up requests):

* ``assign``   POST /api/v1/runs/{run}/segmentations/clusters/assign with one customer,
               ``--requests`` times: p50, p99, max latency (client-side, so it includes HTTP);
* ``overview`` GET /api/v1/runs/{run}/segmentations/clusters (profiles, ranking, plans) and
               the web app's segment overview page ``/runs/{run}?s=clusters`` (signed in like a
               browser), median of 5 each, client-side time (an upper bound of server time).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ensure_data, write_section  # noqa: E402

ROOT = HERE.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(lines: int, work: Path) -> tuple[Path, str]:
    parquet = ensure_data(lines)
    ws = work / "w.duckdb"
    subprocess.run(
        [
            str(BIN / "segmint"),
            "run",
            str(parquet),
            "-w",
            str(ws),
            "--out",
            str(work / "report"),
            "--spec",
            str(spec_file(work)),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    token = subprocess.run(
        [str(BIN / "segmint"), "token", "bench", "--role", "analyst", "-w", str(ws)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    secret = next(w for w in token.split() if w.startswith("sgm_"))
    return ws, secret


def spec_file(work: Path) -> Path:
    path = work / "bench.yaml"
    path.write_text(
        "segmentations:\n  - {name: rfm, method: rfm}\n  - {name: clusters, method: kmeans, k: auto}\n"
    )
    return path


def page_times(base: str, token: str, run_id: str) -> list[float]:
    """Sign in to the web app like a browser, then load the segment overview page 5 times
    (client-side time)."""
    import re

    import httpx

    web = httpx.Client(base_url=base, timeout=60)
    form = web.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "no CSRF field on the sign-in page"
    web.post("/signin", data={"token": token, "csrf": csrf.group(1), "next": "/"})
    times = []
    for _ in range(5):
        elapsed, resp = timed(web, "GET", f"/runs/{run_id}?s=clusters")
        times.append(elapsed)
        assert "Ranked segments" in resp.text, resp.text[:300]  # type: ignore[attr-defined]
    return times


def timed(client: object, method: str, url: str, **kw: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    resp = client.request(method, url, **kw)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    resp.raise_for_status()
    return elapsed, resp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        ws, token = prepare(args.customers * 20, work)
        setup_s = time.perf_counter() - t0
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "segmint"), "serve", "-w", str(ws), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            client = httpx.Client(base_url=base, headers=headers, timeout=60)
            for _ in range(200):
                try:
                    client.get("/api/v1/me").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            run_id = client.get("/api/v1/runs").json()[0]["run_id"]
            seg_url = f"/api/v1/runs/{run_id}/segmentations/clusters"
            overview = [timed(client, "GET", seg_url)[0] for _ in range(5)]
            cols = client.get(seg_url).json()["features"]
            one = {"customers": [{"customer_id": "c1", **{c: 1.0 for c in cols}}]}
            for _ in range(50):
                timed(client, "POST", seg_url + "/assign", json=one)
            lat = [
                timed(client, "POST", seg_url + "/assign", json=one)[0]
                for _ in range(args.requests)
            ]
            page = page_times(base, token, run_id)
        finally:
            server.terminate()
            server.wait(10)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
    result = {
        "customers": args.customers,
        "requests": args.requests,
        "p50_ms": q(0.50),
        "p99_ms": q(0.99),
        "max_ms": lat[-1] * 1000,
        "mean_ms": statistics.mean(lat) * 1000,
        "overview_ms": statistics.median(overview) * 1000,
        "setup_s": setup_s,
        "page_ms": statistics.median(page) * 1000,
    }
    print(json.dumps(result, indent=2))
    table = render(result)
    print(table)
    if not args.no_write:
        write_section("api", table)


def render(r: dict) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    return "\n".join(
        [
            "## REST API on loopback: scoring latency and the segment overview",
            "",
            f"Command: `.venv/bin/python bench/bench_api.py --customers {r['customers']}`. "
            f"Measured {when} on this 2-core machine: `segmint serve` (uvicorn, one process) on "
            "127.0.0.1, the client in another process, one keep-alive connection, requests one "
            f"after another; workspace with {r['customers']:,} customers segmented by RFM and "
            "k-means (auto k). Latencies are client-side (they include HTTP).",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| one-customer assign, p50 ({r['requests']:,} requests) | {r['p50_ms']:.1f} ms |",
            f"| one-customer assign, p99 | {r['p99_ms']:.1f} ms |",
            f"| one-customer assign, max | {r['max_ms']:.1f} ms |",
            f"| segment overview data (GET segmentation, median of 5) | {r['overview_ms']:.1f} ms |",
            f"| segment overview page (web, signed in, median of 5) | {r['page_ms']:.1f} ms |",
            "",
            f"- Target p99 ≤ 50 ms: {'met' if r['p99_ms'] <= 50 else 'not met'} "
            f"({r['p99_ms']:.1f} ms). Target overview page ≤ 1 s server time: "
            f"{'met' if r['page_ms'] <= 1000 else 'not met'} ({r['page_ms']:.0f} ms "
            "client-side, an upper bound of the server time).",
            "",
        ]
    )


if __name__ == "__main__":
    main()
