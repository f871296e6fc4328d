"""Compressed sources are bounded before they are read (issue 18, 3.): a gzip bomb or a
damaged gzip is refused with a clear message, and a real compressed export still imports."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pandas as pd
import pytest

from segmint import Workspace
from segmint.exceptions import UnreadableFileError
from segmint.ingest.inflation import (
    INFLATE_RATIO_FLOOR,
    MAX_INFLATE_RATIO,
    InflationError,
    check_inflation,
)
from tests.conftest import shared_file, snapshot

MB = 1 << 20


@pytest.fixture(scope="module")
def cdnow_gz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CDNOW's purchase log (1.9 MB of text), gzipped as an analyst would send it."""
    path = tmp_path_factory.mktemp("gz") / "CDNOW_master.txt.gz"
    path.write_bytes(gzip.compress(shared_file("cdnow", "CDNOW_master.txt").read_bytes()))
    return path


def _bomb(path: Path, header: str, line: str, unpacked: int) -> Path:
    """The header, then one compressed member of repeated lines repeated: readers join them."""
    chunk = (line * (MB // len(line))).encode()
    member = gzip.compress(chunk, compresslevel=9)
    with path.open("wb") as fh:
        fh.write(gzip.compress(header.encode()))
        for _ in range(unpacked // len(chunk)):
            fh.write(member)
    return path


def test_a_gzipped_real_export_imports_every_row(tmp_path: Path, cdnow_gz: Path) -> None:
    plain = pd.read_csv(shared_file("cdnow", "CDNOW_master.txt"), sep=r"\s+")
    with Workspace(tmp_path / "w.duckdb") as ws:
        res = ws.ingest(cdnow_gz)
        orders = ws.table(res.table).to_pandas()
    assert res.table == "orders" and res.rows == len(plain) == len(orders) == 69659
    assert orders["amount"].astype(float).sum() == pytest.approx(plain["dollar_value"].sum())


def test_a_gzip_bomb_is_refused_quickly_and_nothing_changes(tmp_path: Path, cdnow_gz: Path) -> None:
    ws_path = tmp_path / "w.duckdb"
    with Workspace(ws_path) as ws:
        ws.ingest(cdnow_gz)
    before = snapshot(ws_path)
    bomb = _bomb(
        tmp_path / "orders.csv.gz",
        "order_id,customer_id,order_date,amount\n",
        "A1,C1,2024-01-01,9.99\n",
        200 * MB,
    )
    start = time.monotonic()
    with Workspace(ws_path) as ws, pytest.raises(InflationError) as caught:
        ws.ingest(bomb)
    assert time.monotonic() - start < 10
    err = caught.value
    assert err.where == "orders.csv.gz"
    assert f"at most {MAX_INFLATE_RATIO} times" in str(err) and "decompress it" in (err.fix or "")
    assert snapshot(ws_path) == before


def test_a_gzip_json_bomb_is_refused_too(tmp_path: Path) -> None:
    line = '{"customer_id": "C1", "order_date": "2024-01-01", "amount": 9.99},\n'
    bomb = _bomb(tmp_path / "orders.json.gz", "[", line, 40 * MB)
    with pytest.raises(InflationError, match="times its size"):
        check_inflation(bomb, "json", "gzip")


def test_the_ratio_is_judged_only_past_the_floor(tmp_path: Path) -> None:
    """Under :data:`INFLATE_RATIO_FLOOR` any ratio passes: a small repetitive file is fine."""
    small = _bomb(tmp_path / "small.csv.gz", "a,b\n", "1,2\n", INFLATE_RATIO_FLOOR - MB)
    check_inflation(small, "csv", "gzip")
    big = _bomb(tmp_path / "big.csv.gz", "a,b\n", "1,2\n", INFLATE_RATIO_FLOOR + 2 * MB)
    with pytest.raises(InflationError):
        check_inflation(big, "csv", "gzip")


def test_the_absolute_size_is_bounded(cdnow_gz: Path) -> None:
    """CDNOW unpacks to 1.9 MB at a ratio of about 4: over a 1 MB cap, under a 2 MB one."""
    check_inflation(cdnow_gz, "whitespace", "gzip", 2 * MB)
    with pytest.raises(InflationError, match=r"more than 1\.\d MB\. .* at most 1\.0 MB"):
        check_inflation(cdnow_gz, "whitespace", "gzip", MB)


def test_a_gzip_damaged_past_the_sniffed_start_is_refused(tmp_path: Path, cdnow_gz: Path) -> None:
    """The first 64 kB unpack fine (sniffing passes); the damage is found before DuckDB reads."""
    data = bytearray(cdnow_gz.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 512] = bytes(512)
    damaged = tmp_path / "CDNOW_master.txt.gz"
    damaged.write_bytes(bytes(data))
    with Workspace(tmp_path / "w.duckdb") as ws, pytest.raises(UnreadableFileError) as caught:
        ws.ingest(damaged)
    assert "not a valid gzip file" in str(caught.value)
    assert caught.value.where == "CDNOW_master.txt.gz"
    assert "again" in (caught.value.fix or "")
