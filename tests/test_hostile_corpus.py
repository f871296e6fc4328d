"""The hostile-file corpus: every file through the real ``segmint ingest``, then ``segmint run``.

Each file (``tests/hostile/files.py``) is generated into a temporary folder and imported into a
copy of a workspace that already holds valid customers and orders. Whatever the file, the
command ends in time, under 1 GB of memory, without a traceback, and either

- refuses it: exit 2, one message that names the file and says how to fix it, and the
  workspace (tables, rows, content, the folder's files) exactly as before; or
- imports it: exit 0, every data row kept or counted as unreadable, nothing implausible in the
  tables (infinite amounts, years 9999 or 0001, garbled text), and then ``segmint run`` either
  works with a plausible result or refuses cleanly.

``Case.expect`` says which of the two a user should get; ``EITHER`` where both are fair.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import segmint
from tests.conftest import snapshot
from tests.hostile import files as f
from tests.hostile.cli import Result, segmint_cli

REFUSED, ACCEPTED, EITHER = "refused", "accepted", "either"
PEAK_MB = 1024
MAX_OUTPUT = 20_000  # characters a refusal may print (a 1 MB line must not be echoed)


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]
    expect: str = EITHER
    rows: int | None = None  # data rows in the file: an import keeps each or counts it as bad
    into: str = "orders"  # the table an import must put them in
    bad: int = 0  # an import counts at least this many unreadable values
    says: tuple[str, ...] = ()  # a refusal says these, besides the file's name and a fix
    never: tuple[str, ...] = ()  # ... and never these
    timeout: float = 60
    run: bool = True  # after an import, also `segmint run` (False: nothing hostile reaches it)
    slow: bool = False
    xfail: str | None = None  # what goes wrong today (issue 18); removed when fixed


CASES: dict[str, Case] = {
    # emptiness and encodings
    "empty file": Case(f.empty, REFUSED, says=("empty",)),
    "header only": Case(f.header_only, REFUSED, says=("no data rows",)),
    "blank header names": Case(f.blank_header, REFUSED),
    "UTF-16 with BOM": Case(f.utf16_bom, EITHER, rows=30),
    "UTF-16 without BOM": Case(f.utf16_no_bom, EITHER, rows=30),
    "mixed UTF-8 and Latin-1 lines": Case(
        f.mixed_encodings,
        EITHER,
        rows=60,
    ),
    "one Latin-1 line after 1 MB": Case(
        f.latin1_after_1mb,
        EITHER,
        rows=20_001,
        slow=True,
    ),
    "NUL byte in a field": Case(f.nul_bytes, EITHER, rows=40),
    # sizes and widths
    "1 MB single line": Case(
        f.one_mb_line,
        REFUSED,
        slow=True,
    ),
    "5 MB field": Case(
        f.long_field,
        EITHER,
        rows=40,
        says=("line 5",),  # DuckDB 2.0 names line 1 whatever the line
        never=("Line: 1",),
        slow=True,
    ),
    "10,000 columns x 20 rows": Case(
        f.wide_10000,
        EITHER,
        rows=20,
        into="customers",
        never=("Out of Memory", "SEGMINT_MEMORY_LIMIT"),  # 400 kB of text
        slow=True,
    ),
    "500 integer columns": Case(
        f.int_columns_500,
        EITHER,
        rows=20,
        into="customers",
        never=("Out of Memory", "SEGMINT_MEMORY_LIMIT"),  # 40 kB of text
        slow=True,
    ),
    # names
    "duplicate column names": Case(f.duplicate_columns, REFUSED, says=("'amount'",)),
    "quotes, line break and SQL in column names": Case(f.hostile_column_names, ACCEPTED, rows=30),
    "formula-looking customer ids": Case(f.formula_ids, ACCEPTED, rows=40),
    "odd file name, bad content": Case(f.odd_name, REFUSED, says=("no data rows",)),
    "odd file name, good content": Case(f.odd_name_valid, ACCEPTED, rows=30, run=False),
    # structure of text files
    "ragged rows": Case(
        f.ragged_rows,
        EITHER,
        rows=60,
        says=("line 11", "line 31", "line 51"),
        never=("one single column",),
    ),
    "unclosed quote": Case(f.unclosed_quote, EITHER, rows=40, run=False),
    # numbers and dates
    "inf, -inf, 1e999, Infinity, NaN amounts": Case(
        f.infinite_prices,
        EITHER,
        rows=120,
        bad=5,
    ),
    "5,000-digit amount": Case(f.huge_number, EITHER, rows=60, bad=1),
    "negative quantities": Case(f.negative_quantities, ACCEPTED, rows=60),
    "dates in 9999 and 0001": Case(
        f.far_dates,
        EITHER,
        rows=60,
        bad=2,
    ),
    "2023-02-30 and 2023-13-01": Case(f.impossible_dates, ACCEPTED, rows=60, bad=2),
    "mixed date formats": Case(f.mixed_date_formats, EITHER, rows=60, says=("'ordered_at'",)),
    "epoch seconds as dates": Case(f.epoch_dates, EITHER, rows=60),
    # Excel
    "Excel: empty first sheet": Case(
        f.excel_empty_first_sheet,
        EITHER,
        rows=30,
        says=("--sheet",),
    ),
    "Excel: title row above the header": Case(
        f.excel_title_row,
        EITHER,
        rows=30,
        never=("not a readable .xlsx workbook",),
    ),
    "Excel: formulas without cached values": Case(
        f.excel_formulas_without_values,
        EITHER,
        rows=40,
        bad=2,
    ),
    "Excel: merged cells": Case(f.excel_merged_cells, EITHER, rows=30, run=False),
    "a .xlsx that is really a CSV": Case(f.xlsx_really_csv, EITHER, rows=30, run=False),
    "truncated .xlsx (corrupt zip)": Case(f.corrupt_zip, REFUSED),
    # compression
    # a 400:1 ratio of one repeated line is no export: decompression is bounded (issue 18, 3.)
    "gzip bomb (750 kB -> 300 MB)": Case(f.gzip_bomb, REFUSED, says=("100 times",), timeout=30),
    "corrupt gzip": Case(f.gzip_corrupt, REFUSED, says=("not a valid gzip file",)),
    # JSON and Parquet structure
    "JSON scalar": Case(f.json_scalar, REFUSED),
    "JSON list of lists": Case(
        f.json_list_of_lists,
        EITHER,
        rows=20,
    ),
    "JSON nested 10,000 deep": Case(f.json_deep, REFUSED),
    "JSON duplicate keys": Case(f.json_duplicate_keys, EITHER, rows=20),
    "Parquet struct and list columns": Case(f.parquet_nested, EITHER, rows=30),
    "Parquet column of nulls": Case(f.parquet_null_column, EITHER, rows=30),
    # links, pipes and odd paths: links are followed (the CLI reads with its user's rights, the
    # server never takes a path), then the target's content decides; /etc/passwd is no table
    "symlink to /etc/passwd": Case(
        f.symlink_passwd,
        REFUSED,
        says=("separated by ':'", "root:x:0"),  # the sniffer skipped 23 of 25 lines; no emoji
    ),
    "symlink to a file elsewhere": Case(f.symlink_outside, ACCEPTED, rows=30, run=False),
    "FIFO": Case(
        f.fifo,
        REFUSED,
        timeout=30,
        says=("named pipe", "save the data to a file first"),
        never=("0 bytes",),
    ),
    "folder named like a file": Case(f.folder_named_like_file, REFUSED, says=("folder",)),
    "file without read permission": Case(f.unreadable, REFUSED),
}


def _params() -> list[object]:
    params = []
    for name, case in CASES.items():
        runs = case.run and case.expect != REFUSED  # `segmint run` takes 15 s of CPU or more
        marks: list[pytest.MarkDecorator] = [pytest.mark.slow] if case.slow or runs else []
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        if case.make is f.unreadable:
            marks.append(pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding 40 valid customers and 240 valid orders (2023-2024)."""
    folder = tmp_path_factory.mktemp("hostile-seed")
    path = folder / "shop.duckdb"
    with segmint.Workspace(path) as ws:
        for source in f.seed(folder):
            ws.ingest(source)
    return path


@pytest.mark.parametrize("name", _params())
def test_hostile_file(
    name: str, seeded: Path, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    case = CASES[name]
    ws = tmp_path / "ws" / "shop.duckdb"
    ws.parent.mkdir()
    shutil.copy(seeded, ws)
    (tmp_path / "in").mkdir()
    path = case.make(tmp_path / "in")
    before, listing = snapshot(ws), sorted(os.listdir(ws.parent))

    result = segmint_cli("ingest", path, "-w", ws, timeout=case.timeout)
    record_property(
        "ingest", f"exit {result.code}, {result.seconds:.1f} s, {result.peak_mb:.0f} MB"
    )
    _ended_cleanly(result)
    if result.code == 2:
        assert case.expect != ACCEPTED, f"refused a file it should import: {result.text}"
        _says_what_and_how(result, path, case)
        assert snapshot(ws) == before, "a refused import changed the workspace"
        assert sorted(os.listdir(ws.parent)) == listing, "a refused import left files behind"
    else:
        assert case.expect != REFUSED, f"imported a file it should refuse: {result.text}"
        _nothing_lost_or_implausible(ws, before, case)
        if case.run:
            run = _run_works_or_refuses(ws, tmp_path / "report")
            record_property("run", f"exit {run.code}, {run.seconds:.1f} s, {run.peak_mb:.0f} MB")


def _ended_cleanly(r: Result) -> None:
    assert not r.timed_out, f"still running after {r.seconds:.0f} s (killed)"
    assert "Traceback" not in r.text, r.text[-3000:]
    assert r.code in (0, 2), f"exit code {r.code}: {r.text[-3000:]}"
    assert r.peak_mb < PEAK_MB, f"peak memory {r.peak_mb:.0f} MB"


def _says_what_and_how(r: Result, path: Path, case: Case) -> None:
    assert len(r.out) + len(r.err) < MAX_OUTPUT, f"a {len(r.out) + len(r.err):,}-character message"
    for part in path.name.split():  # Rich may print a name's line break as a wrap
        assert part in r.text, f"the message does not name {path.name!r}: {r.text}"
    assert "How to fix:" in r.text, r.text
    for phrase in case.says:
        assert phrase in r.text, f"{phrase!r} not in: {r.text}"
    for phrase in case.never:
        assert phrase not in r.text, f"{phrase!r} in: {r.text}"


def _nothing_lost_or_implausible(ws: Path, before: dict[str, tuple[int, int]], case: Case) -> None:
    after = snapshot(ws)
    added = after.get(case.into, (0, 0))[0] - before.get(case.into, (0, 0))[0]
    db = duckdb.connect(str(ws), read_only=True)
    try:
        counts = db.execute(
            "SELECT row_counts FROM runs WHERE kind = 'ingest' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        bad = json.loads(counts[0])["bad_values"] if counts else 0
        assert bad >= case.bad, f"{bad} unreadable values counted, {case.bad} planted"
        if case.rows is not None:
            assert added + bad >= case.rows, (
                f"{added} rows imported into {case.into}, {bad} counted, of {case.rows}"
            )
        _orders_plausible(db)
    finally:
        db.close()


def _orders_plausible(db: duckdb.DuckDBPyConnection) -> None:
    row = db.execute(
        "SELECT count(*) FILTER (NOT isfinite(amount)),"
        " count(*) FILTER (year(ordered_at) NOT BETWEEN 1990 AND 2100),"
        " count(*) FILTER (product_name LIKE '%Ã%' OR product_name LIKE '%\ufffd%')"
        " FROM orders"
    ).fetchone()
    assert row == (0, 0, 0), f"orders with infinite amounts, far dates, garbled names: {row}"


def _run_works_or_refuses(ws: Path, out: Path) -> Result:
    before = snapshot(ws)
    r = segmint_cli("run", "-w", ws, "--out", out, timeout=240)
    _ended_cleanly(r)
    if r.code == 2:
        assert "How to fix:" in r.text, r.text
        assert snapshot(ws).keys() >= before.keys(), "a refused run lost tables"
        return r
    report = (out / "report.json").read_text()
    assert "Infinity" not in report and "NaN" not in report
    as_of = json.loads(report)["as_of"]
    assert "2023" <= as_of[:4] <= "2025", f"implausible as-of date {as_of}"
    return r
