"""A cheap HTTP/1.1 load generator: N concurrent clients, each on its own keep-alive connection.

    from loadgen import Request, run_load
    stats = run_load("127.0.0.1", 8000, [Request("POST", "/x", b"{}")], clients=50, duration_s=10)

Each client sends its next request as soon as the answer to the last one is in (a closed
loop), so the throughput is what the server sustains with ``clients`` requests in flight. The
clients are coroutines on one asyncio loop in this process, writing prepared request bytes and
reading answers with asyncio streams: no HTTP library, so the client's CPU per request stays
small (it shares the machine's cores with the server on loopback). Latency is client-side, from
writing the request to the last byte of the answer; CPU per request is measured for this
process and, given its pid, the server's (Linux ``/proc``), which says what the server could
sustain on a core of its own whatever else runs on the machine. An answer that is not 2xx, a dropped
connection or a timeout counts as an error (the client reconnects and goes on).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LoadResult", "Request", "run_load"]


@dataclass(frozen=True)
class Request:
    """One request to send: method, path (with query), body and extra headers."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class LoadResult:
    """What the clients saw: latencies of the answered requests (seconds) and the errors."""

    clients: int
    duration_s: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    #: the first few error descriptions (status lines, exceptions)
    samples: list[str] = field(default_factory=list)
    #: the answer bodies of the first requests, for a check of what came back
    bodies: list[tuple[int, bytes]] = field(default_factory=list)
    #: CPU seconds the server process (``server_pid``) and this process used while measured
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies) / self.duration_s

    def quantile_ms(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    def cpu_ms_per_request(self, cpu_s: float | None) -> float | None:
        n = len(self.latencies) + self.errors
        return None if cpu_s is None or not n else round(cpu_s / n * 1000, 3)

    def summary(self) -> dict[str, float | None]:
        return {
            "clients": self.clients,
            "duration_s": round(self.duration_s, 2),
            "requests": len(self.latencies),
            "rps": round(self.requests_per_s, 1),
            "p50_ms": round(self.quantile_ms(0.50), 2),
            "p99_ms": round(self.quantile_ms(0.99), 2),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 2),
            "errors": self.errors,
            "server_cpu_ms": self.cpu_ms_per_request(self.server_cpu_s),
            "client_cpu_ms": self.cpu_ms_per_request(self.client_cpu_s),
        }


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) process ``pid`` has used; None where
    ``/proc`` is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close, chunked = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(length)
    return status, body, close


async def _client(
    host: str,
    port: int,
    next_request: Callable[[], bytes],
    deadline: float,
    result: LoadResult,
    keep_bodies: int,
    timeout_s: float,
) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < deadline:
        payload = next_request()
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
            reader, writer = conn
            writer.write(payload)
            status, body, close = await asyncio.wait_for(_read_answer(reader), timeout_s)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"{type(exc).__name__}: {exc}")
            if conn is not None:
                conn[1].close()
            conn = None
            continue
        elapsed = time.perf_counter() - t0
        if 200 <= status < 300:
            result.latencies.append(elapsed)
        else:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"{status}: {body[:200]!r}")
        if len(result.bodies) < keep_bodies:
            result.bodies.append((status, body))
        if close:
            conn[1].close()
            conn = None
    if conn is not None:
        conn[1].close()


async def _run(
    host: str,
    port: int,
    requests: Sequence[Request],
    clients: int,
    duration_s: float,
    warmup_s: float,
    keep_bodies: int,
    timeout_s: float,
    server_pid: int | None,
) -> LoadResult:
    encoded = [r.encode(f"{host}:{port}") for r in requests]
    cycle = itertools.cycle(encoded)
    if warmup_s > 0:
        warm = LoadResult(clients, warmup_s)
        end = time.perf_counter() + warmup_s
        await asyncio.gather(
            *(_client(host, port, cycle.__next__, end, warm, 0, timeout_s) for _ in range(clients))
        )
    result = LoadResult(clients, duration_s)
    server0 = process_cpu_s(server_pid) if server_pid else None
    client0 = time.process_time()
    t0 = time.perf_counter()
    end = t0 + duration_s
    await asyncio.gather(
        *(
            _client(host, port, cycle.__next__, end, result, keep_bodies, timeout_s)
            for _ in range(clients)
        )
    )
    result.duration_s = time.perf_counter() - t0  # the last answers come in after the deadline
    result.client_cpu_s = time.process_time() - client0
    server1 = process_cpu_s(server_pid) if server_pid else None
    if server0 is not None and server1 is not None:
        result.server_cpu_s = server1 - server0
    return result


def run_load(
    host: str,
    port: int,
    requests: Sequence[Request],
    *,
    clients: int = 50,
    duration_s: float = 10.0,
    warmup_s: float = 2.0,
    keep_bodies: int = 0,
    timeout_s: float = 30.0,
    server_pid: int | None = None,
) -> LoadResult:
    """Send ``requests`` round-robin from ``clients`` concurrent connections for
    ``duration_s`` seconds (after ``warmup_s`` seconds whose answers are not counted); with
    ``server_pid``, the server's CPU time while measured is taken too."""
    try:
        import uvloop  # a cheaper event loop for the client, where installed

        runner: Callable[..., LoadResult] = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(
        _run(
            host, port, requests, clients, duration_s, warmup_s, keep_bodies, timeout_s, server_pid
        )
    )
