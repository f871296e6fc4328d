"""Bad input: each case gets one clear paragraph, exit code 2, no traceback, workspace untouched.

Every case runs twice: through the Python API (asserting the error type and message) and
through the real CLI (asserting the exit code and output). Before each attempt the workspace
already holds an import, and its snapshot (row counts + content hashes) must not change.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import (
    DiskSpaceError,
    EmptyInputError,
    MappingError,
    QualityGateError,
    SegmintError,
    UnreadableFileError,
)
from tests.conftest import snapshot

GOOD = "order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-02,10.5\nA2,C2,2024-01-03,20\n"


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def empty(tmp: Path) -> Path:
    return _write(tmp / "empty.csv", "")


def blank(tmp: Path) -> Path:
    return _write(tmp / "blank.csv", "\n  \n\n")


def header_only(tmp: Path) -> Path:
    return _write(tmp / "header.csv", "order_id,customer_id,ordered_at,amount\n")


def semicolons(tmp: Path) -> Path:
    return _write(tmp / "semi.csv", "order_id;customer_id;ordered_at;amount\nA1;C1;2024-01-02;1\n")


def garbage(tmp: Path) -> Path:
    rnd = random.Random(7)
    return _write(tmp / "orders.csv", bytes(rnd.randrange(256) for _ in range(50_000)))


def missing_date(tmp: Path) -> Path:
    return _write(tmp / "nodate.csv", "order_id,customer_id,amount\nA1,C1,10\nA2,C2,20\n")


def text_dates(tmp: Path) -> Path:
    rows = "".join(f"A{i},C{i},see notes,{i}\n" for i in range(50))
    return _write(tmp / "textdates.csv", "order_id,customer_id,ordered_at,amount\n" + rows)


def dup_headers(tmp: Path) -> Path:
    return _write(
        tmp / "dup.csv", "order_id,customer_id,ordered_at,amount,amount\nA1,C1,2024-01-02,1,2\n"
    )


CASES: dict[str, tuple[Callable[[Path], Path], list[str], type[SegmintError], list[str]]] = {
    # name: (make file, extra CLI args, error type, phrases the message must contain)
    "empty file": (empty, [], EmptyInputError, ["empty (0 bytes)", "export the data again"]),
    "blank file": (blank, [], EmptyInputError, ["only blank space"]),
    "header only": (header_only, [], EmptyInputError, ["no data rows", "order_id"]),
    "wrong delimiter": (
        semicolons,
        ["--delimiter", ","],
        UnreadableFileError,
        ["one single column", "';'", "--delimiter ';'"],
    ),
    "binary garbage": (garbage, [], UnreadableFileError, ["binary", "CSV/TSV, Parquet"]),
    "missing required column": (
        missing_date,
        ["--as", "orders"],
        MappingError,
        ["'ordered_at'", "time of the order", "--map ordered_at="],
    ),
    "date column full of text": (
        text_dates,
        [],
        QualityGateError,
        ["'ordered_at'", "50 of 50", "row 1: 'see notes'", "--date-format", "nothing was imported"],
    ),
    "duplicated headers": (
        dup_headers,
        [],
        MappingError,
        ["'amount' (columns 4 and 5)", "rename or delete"],
    ),
}

API_KWARGS = {"wrong delimiter": {"delimiter": ","}, "missing required column": {"into": "orders"}}


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Path]:
    """A workspace that already holds one good import."""
    path = tmp_path / "ws" / "shop.duckdb"
    with segmint.Workspace(path) as ws:
        ws.ingest(_write(tmp_path / "good.csv", GOOD))
    yield path


@pytest.mark.parametrize("case", list(CASES))
def test_api_error_and_workspace_untouched(case: str, seeded: Path, tmp_path: Path) -> None:
    make, _args, error, phrases = CASES[case]
    before = snapshot(seeded)
    bad = make(tmp_path)
    with segmint.Workspace(seeded) as ws, pytest.raises(error) as info:
        ws.ingest(bad, **API_KWARGS.get(case, {}))
    text = str(info.value)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in: {text}"
    assert info.value.fix, "every user error says how to fix it"
    assert (
        bad.name in text or case == "missing required column" or bad.name in str(info.value.where)
    )
    assert snapshot(seeded) == before


@pytest.mark.parametrize("case", list(CASES))
def test_cli_error_exit_code_no_traceback(case: str, seeded: Path, tmp_path: Path) -> None:
    make, args, _error, phrases = CASES[case]
    before = snapshot(seeded)
    bad = make(tmp_path)
    result = CliRunner().invoke(app, ["ingest", str(bad), "-w", str(seeded), *args])
    out = " ".join(result.output.split())  # Rich wraps lines; compare on single spaces
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "How to fix:" in out
    assert phrases[0].split()[0] in out
    assert snapshot(seeded) == before


@pytest.mark.parametrize("case", ["empty file", "binary garbage", "date column full of text"])
def test_failed_first_import_leaves_no_workspace(case: str, tmp_path: Path) -> None:
    make, args, error, _ = CASES[case]
    target = tmp_path / "new" / "fresh.duckdb"
    with pytest.raises(error):
        segmint.Workspace(target).ingest(make(tmp_path))
    assert not target.exists()
    result = CliRunner().invoke(app, ["ingest", str(make(tmp_path)), "-w", str(target), *args])
    assert result.exit_code == 2
    assert not target.exists()


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root to mount a small tmpfs as a nearly "
    "full disk (CI and `make test` run as root here)",
)
def test_two_gigabyte_file_on_nearly_full_disk(tmp_path: Path) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], check=True)
    try:
        ws_path = disk / "shop.duckdb"
        with segmint.Workspace(ws_path) as ws:
            ws.ingest(_write(tmp_path / "good.csv", GOOD))
        before = snapshot(ws_path)
        big = tmp_path / "big.csv"
        line = "A{0},C{0},2024-01-02,10.5\n"
        with big.open("w") as fh:  # 1.2 MB of real rows, then a sparse tail up to 2 GB
            fh.write("order_id,customer_id,ordered_at,amount\n")
            fh.write("".join(line.format(i) for i in range(50_000)))
        os.truncate(big, 2 * 1024**3)
        with segmint.Workspace(ws_path) as ws, pytest.raises(DiskSpaceError) as info:
            ws.ingest(big)
        text = str(info.value)
        assert "2.0 GB" in text or "3.0 GB" in text
        assert "free" in text and "--workspace" in text and "unchanged" in text
        assert snapshot(ws_path) == before
        result = CliRunner().invoke(app, ["ingest", str(big), "-w", str(ws_path)])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "DiskSpaceError" in result.output
        assert snapshot(ws_path) == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_unexpected_bug_still_shows_traceback_not_swallowed(tmp_path: Path) -> None:
    """Only user errors are turned into paragraphs: the decorator does not hide real bugs."""
    from segmint.cli._common import user_errors

    @user_errors
    def boom() -> None:
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        boom()


def test_format_that_needs_a_missing_column_explains(tmp_path: Path) -> None:
    """A Segment file without 'traits' imported as customers: a MappingError, not SQL."""
    path = tmp_path / "calls.ndjson"
    path.write_text(
        '{"type":"identify","userId":"u1","anonymousId":"a1","timestamp":"2024-01-01T00:00:00Z"}\n'
    )
    target = tmp_path / "w.duckdb"
    with pytest.raises(MappingError) as info:
        segmint.Workspace(target).ingest(path, format="segment", into="customers")
    assert "needs a column 'traits'" in str(info.value) and "--format generic" in str(info.value)
    assert not target.exists()


def test_memory_limit_is_set_and_a_bad_override_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's buffer pool is capped (default: 1/16 of RAM, at least 1 GB);
    SEGMINT_MEMORY_LIMIT overrides it."""
    from segmint.exceptions import WorkspaceError
    from segmint.store import Store
    from segmint.store._store import default_memory_limit

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    expected_mb = max(1024, ram // 16 // (1 << 20))
    assert default_memory_limit() == f"{expected_mb}MB"
    store = Store(tmp_path / "w.duckdb")
    limit = store.db.execute("SELECT current_setting('memory_limit')").fetchone()
    store.close()
    other = duckdb.connect()
    other.execute(f"SET memory_limit = '{expected_mb}MB'")
    assert limit == other.execute("SELECT current_setting('memory_limit')").fetchone()
    other.close()
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "1GB")
    store = Store(tmp_path / "w.duckdb")
    one_gb = store.db.execute("SELECT current_setting('memory_limit')").fetchone()
    store.close()
    assert one_gb is not None and one_gb[0] in ("953.6 MiB", "1.0 GB", "1000.0 MB")
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "2GB")
    store = Store(tmp_path / "w.duckdb")
    assert store.db.execute("SELECT current_setting('memory_limit')").fetchone() != limit
    store.close()
    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "lots")
    with pytest.raises(WorkspaceError) as info:
        Store(tmp_path / "w.duckdb")
    assert "SEGMINT_MEMORY_LIMIT" in str(info.value) and "'lots'" in str(info.value)


def test_release_memory_evicts_cached_blocks_and_restores_the_cap(tmp_path: Path) -> None:
    """Between steps DuckDB's cached blocks are handed back; the cap and the data stay."""
    from segmint.store import Store

    store = Store(tmp_path / "w.duckdb")
    store.db.execute("CREATE TABLE t AS SELECT range AS i, random() AS r FROM range(16000000)")
    store.db.execute("CHECKPOINT")
    before = store.db.execute("SELECT current_setting('memory_limit')").fetchone()

    def cached() -> int:
        row = store.db.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        return int(row[0]) if row and row[0] else 0

    store.db.execute("SELECT sum(r) FROM t").fetchone()
    held = cached()
    assert held > 100 << 20, held  # the table's blocks, read by the query, stay cached
    store.release_memory()
    assert cached() <= 64 << 20, (held, cached())
    assert store.db.execute("SELECT current_setting('memory_limit')").fetchone() == before
    assert store.db.execute("SELECT count(*), sum(i) FROM t").fetchone() == (
        16000000,
        127999992000000,
    )
    store.close()


def test_release_memory_writes_pending_rows_to_the_file(tmp_path: Path) -> None:
    """Rows not yet checkpointed stay pinned in DuckDB's memory (the lowered cap cannot evict
    them): release_memory(checkpoint=True), as a run calls it before its pandas stages,
    checkpoints first, so the write-ahead log is empty afterwards and the rows are in the file."""
    from segmint.store import Store

    store = Store(tmp_path / "w.duckdb")
    store.db.execute("SET checkpoint_threshold = '1GB'")  # no automatic checkpoint
    store.db.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    store.db.execute("INSERT INTO t SELECT range FROM range(100000, 100100)")
    wal = tmp_path / "w.duckdb.wal"
    assert wal.exists() and wal.stat().st_size > 0
    store.release_memory()
    assert wal.exists() and wal.stat().st_size > 0  # a plain release leaves the log alone
    store.release_memory(checkpoint=True)
    assert not wal.exists() or wal.stat().st_size == 0
    assert store.db.execute("SELECT count(*), max(i) FROM t").fetchone() == (100100, 100099)
    store.close()


def test_engine_out_of_memory_explains_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DuckDB running out of its capped memory is a user error naming SEGMINT_MEMORY_LIMIT."""
    import duckdb

    from segmint.cli._common import user_errors

    monkeypatch.setenv("SEGMINT_MEMORY_LIMIT", "64MB")

    @user_errors
    def heavy() -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 256 MiB")

    with pytest.raises(typer.Exit) as info:
        heavy()
    assert info.value.exit_code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "(64MB)" in err and "SEGMINT_MEMORY_LIMIT=4GB" in err and "Traceback" not in err
