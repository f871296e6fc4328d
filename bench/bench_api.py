"""Benchmark: the REST API on loopback — one-customer scoring latency and throughput, and the
segment overview.

    .venv/bin/python bench/bench_api.py                       # 1M customers
    .venv/bin/python bench/bench_api.py --customers 50000 --no-write
    .venv/bin/python bench/bench_api.py --customers 50000 --keep /tmp/api50k --no-write  # reuse

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

Then under load (``--clients`` concurrent clients, each on its own keep-alive connection,
sending its next request when the last is answered, for ``--duration`` seconds after 2 s of
warm-up; ``loadgen.py``: asyncio streams, no HTTP library, so the client stays cheap on the
cores it shares with the server): throughput, p50/p99/max latency and errors of

* ``by values`` one customer sent with its feature values (those of 500 stored customers, in
                turn): what a shop's site or CRM sends for a customer the last run did not see;
* ``by id``     one customer sent by ``customer_id`` only, its values read from
                ``customer_features`` (2,000 stored customers in turn);
* floors       the same client against a bare ASGI app under uvicorn (no segmint: the HTTP
               server's own cost) and against a raw asyncio server (the client's own cost).
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

from loadgen import LoadResult, Request, run_load  # noqa: E402
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
    if ws.exists():  # --keep: the workspace of an earlier run of this size
        return ws, (work / "token").read_text().strip()
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
    (work / "token").write_text(secret)
    return ws, secret


def stored_sample(ws: Path) -> tuple[list[str], list[dict[str, object]]]:
    """2,000 stored customer ids and 500 customers' feature rows (read before the server
    opens the file)."""
    import duckdb

    con = duckdb.connect(str(ws), read_only=True)
    try:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT customer_id FROM customer_features ORDER BY hash(customer_id) LIMIT 2000"
            ).fetchall()
        ]
        rows = con.execute(
            "SELECT * FROM customer_features ORDER BY hash(customer_id || 'v') LIMIT 5000"
        ).df()
    finally:
        con.close()
    return ids, rows.to_dict("records")


def load_requests(
    seg_url: str, token: str, cols: list[str], ids: list[str], rows: list[dict[str, object]]
) -> dict[str, list[Request]]:
    """The assign requests of both kinds (values: rows with every feature present)."""
    headers = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))
    url = seg_url + "/assign"

    def body(customer: dict[str, object]) -> bytes:
        return json.dumps({"customers": [customer]}).encode()

    complete = [r for r in rows if all(_number(r.get(c)) is not None for c in cols)][:500]
    values = [
        Request(
            "POST",
            url,
            body({"customer_id": f"new-{i}", **{c: _number(r[c]) for c in cols}}),
            headers,
        )
        for i, r in enumerate(complete)
    ]
    by_id = [Request("POST", url, body({"customer_id": cid}), headers) for cid in ids]
    return {"values": values, "id": by_id}


def _number(v: object) -> float | int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    f = float(v)  # type: ignore[arg-type]
    return None if f != f else f


FLOOR_APP = """
import sys, uvicorn
BODY = b'[{"customer_id":"new-1","segment":"2","name":"Deal seekers"}]'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

RAW_SERVER = """
import asyncio, sys
BODY = b'[{"customer_id":"new-1","segment":"2","name":"Deal seekers"}]'
ANSWER = (b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: "
          + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def floor(source: str, requests: list[Request], clients: int, duration: float) -> LoadResult:
    """The load client against a stand-in server (``source`` run with a free port)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", source, str(port)])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return run_load(
            "127.0.0.1", port, requests, clients=clients, duration_s=duration, server_pid=proc.pid
        )
    finally:
        proc.terminate()
        proc.wait(10)


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def server_stack() -> str:
    """What uvicorn serves with here: httptools and uvloop when installed, else h11 and
    asyncio (its ``auto`` choices)."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} + {loop}"


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


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
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (0: none)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of load per kind")
    ap.add_argument("--no-floors", action="store_true", help="skip the stand-in servers")
    ap.add_argument("--keep", type=Path, help="keep the workspace here and reuse it")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.keep is not None:
            work = args.keep / f"c{args.customers}"
            work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        ws, token = prepare(args.customers * 20, work)
        setup_s = time.perf_counter() - t0
        ids, rows = stored_sample(ws)
        load_before = loadavg()
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
            loads: dict[str, LoadResult] = {}
            kinds = load_requests(seg_url, token, cols, ids, rows)
            if args.clients > 0:
                for kind, reqs in kinds.items():
                    loads[kind] = run_load(
                        "127.0.0.1",
                        port,
                        reqs,
                        clients=args.clients,
                        duration_s=args.duration,
                        keep_bodies=3,
                        server_pid=server.pid,
                    )
                    print(kind, loads[kind].summary(), loads[kind].samples[:2], flush=True)
        finally:
            server.terminate()
            server.wait(10)
        if args.clients > 0 and not args.no_floors:
            for kind, source in (("floor-uvicorn", FLOOR_APP), ("floor-raw", RAW_SERVER)):
                loads[kind] = floor(source, kinds["values"], args.clients, min(args.duration, 5))
                print(kind, loads[kind].summary(), flush=True)
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
        "clients": args.clients,
        "duration": args.duration,
        "load": {k: v.summary() for k, v in loads.items()},
        "stack": server_stack(),
        "loadavg": f"{load_before} before, {loadavg()} after",
    }
    print(json.dumps(result, indent=2))
    table = render(result)
    print(table)
    if not args.no_write:
        write_section("api", table)


def render(r: dict) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    clients = "" if r["clients"] == 50 else f" --clients {r['clients']}"
    lines = [
        "## REST API on loopback: scoring latency and throughput, and the segment overview",
        "",
        f"Command: `.venv/bin/python bench/bench_api.py --customers {r['customers']}{clients}`. "
        f"Measured {when} on this 2-core machine (1-min load average {r['loadavg']}): "
        f"`segmint serve` (uvicorn, one process, {r['stack']}) on 127.0.0.1, the client in "
        "another process on the same cores; workspace with "
        f"{r['customers']:,} customers segmented by RFM and k-means (auto k). Latencies are "
        "client-side (they include HTTP).",
        "",
        "One keep-alive connection, requests one after another:",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| one-customer assign, p50 ({r['requests']:,} requests) | {r['p50_ms']:.1f} ms |",
        f"| one-customer assign, p99 | {r['p99_ms']:.1f} ms |",
        f"| one-customer assign, max | {r['max_ms']:.1f} ms |",
        f"| segment overview data (GET segmentation, median of 5) | {r['overview_ms']:.1f} ms |",
        f"| segment overview page (web, signed in, median of 5) | {r['page_ms']:.1f} ms |",
        "",
    ]
    load = r["load"]
    if load:
        lines += [
            f"{r['clients']} concurrent clients, each on its own keep-alive connection, "
            f"{r['duration']:g} s each after 2 s of warm-up (`bench/loadgen.py`):",
            "",
            "| requests | requests/s | p50 ms | p99 ms | max ms | errors | server CPU ms/request "
            "| client CPU ms/request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        labels = {
            "values": "one customer by feature values",
            "id": "one customer by id (stored features)",
            "floor-uvicorn": "floor: bare ASGI app under uvicorn (no segmint)",
            "floor-raw": "floor: raw asyncio server (the client's own cost)",
        }
        for kind, label in labels.items():
            if kind in load:
                x = load[kind]
                lines.append(
                    f"| {label} | {x['rps']:,.0f} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | "
                    f"{x['max_ms']:.1f} | {x['errors']} | {_ms(x['server_cpu_ms'])} | "
                    f"{_ms(x['client_cpu_ms'])} |"
                )
        lines += [
            "",
            "*Server CPU ms/request* is the server process's CPU time (all its threads) while "
            "measured, divided by the requests: one process can answer at most about 1,000 ÷ "
            "that many requests per second on a core of its own (Python runs one thread at a "
            "time; DuckDB's lookups run beside it). The server runs one process: a second "
            "uvicorn worker cannot open the workspace (DuckDB lets one process open a file "
            "for writing, and then no other process may open it).",
            "",
        ]
    lines.append(
        f"- Target p99 ≤ 50 ms (one client): {'met' if r['p99_ms'] <= 50 else 'not met'} "
        f"({r['p99_ms']:.1f} ms). Target overview page ≤ 1 s server time: "
        f"{'met' if r['page_ms'] <= 1000 else 'not met'} ({r['page_ms']:.0f} ms "
        "client-side, an upper bound of the server time)."
    )
    for kind, label in (("values", "by values"), ("id", "by id")):
        if kind in load:
            x = load[kind]
            met = x["rps"] >= 1000 and x["p99_ms"] <= 50 and x["errors"] == 0
            lines.append(
                f"- Target ≥ 1,000 requests/s with p99 ≤ 50 ms under {r['clients']} clients, "
                f"{label}: {'met' if met else 'not met'} ({x['rps']:,.0f} requests/s, p99 "
                f"{x['p99_ms']:.1f} ms, {x['errors']} errors)."
            )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
