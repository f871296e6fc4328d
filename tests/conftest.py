"""Shared fixtures: workspaces, the shared real data sets, a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import segmint
from segmint.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data; skip (with the reason) only when the folder is absent."""
    path = SHARED.joinpath(*parts)
    if not SHARED.exists():
        pytest.skip(f"../shared/data is absent (looked in {SHARED}); real-data tests need it")
    assert path.exists(), f"{path} is missing from ../shared/data"
    return path


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return tmp_path / "shop.duckdb"


@pytest.fixture
def ws(ws_path: Path) -> Iterator[segmint.Workspace]:
    w = segmint.Workspace(ws_path)
    yield w
    w.close()


def assert_sql_snapshot(folder: Path, case: str, sql: str) -> None:
    """Compare ``sql`` with ``folder/<case>/out.sql``; SEGMINT_UPDATE_SNAPSHOTS=1 writes it."""
    path = folder / case / "out.sql"
    text = sql.rstrip() + "\n"
    if os.environ.get("SEGMINT_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with SEGMINT_UPDATE_SNAPSHOTS=1 to write it"
    assert text == path.read_text(encoding="utf-8"), f"generated SQL differs from {path}"


def snapshot(path: Path) -> dict[str, tuple[int, int]]:
    """Row count + content hash of every table: equal snapshots mean an unchanged workspace."""
    store = Store(path, read_only=True)
    try:
        return store.fingerprint()
    finally:
        store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / "initdb").exists():
            return base
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away PostgreSQL server on loopback, started from the system's binaries."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries not found; `make test` installs them "
            "(apt-get install postgresql) when run as root"
        )
    # Not under pytest's temp root: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="segmint-pg-"))
    base.chmod(0o777)
    data = base / "data"
    port = _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        env=env,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(data.parent / "log"),
            "-o",
            f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            env=env,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local Spark (local[2]) shared by every test marked ``spark`` (starting one takes
    about 7 s; the suite shares it to stay inside make test's time budget). Its catalog's
    warehouse is a temporary folder, not ./spark-warehouse of the checkout."""
    pytest.importorskip("pyspark", reason="the spark suite needs PySpark (pip install -e .[spark])")
    from segmint.store.spark import spark_session

    warehouse = str(tmp_path_factory.mktemp("spark-warehouse"))
    session = spark_session(
        "local[2]", {"spark.sql.shuffle.partitions": "4", "spark.sql.warehouse.dir": warehouse}
    )
    yield session
    session.stop()
