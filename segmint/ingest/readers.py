"""Readers: put a sniffed source in front of DuckDB as one relation with a ``_row`` column.

Text sources (CSV/TSV, whitespace tables, Excel) arrive as all-VARCHAR so that segmint does the
type coercion itself and can report every value it could not read. Typed sources (Parquet, JSON,
SQL) keep their types. Nothing here writes to the workspace: staging lives in TEMP tables of the
connection (in memory, spilling to DuckDB's temp folder), so large files stream through DuckDB
without a pandas copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse, urlunparse

import duckdb

from segmint.exceptions import (
    EmptyInputError,
    MappingError,
    MissingDependencyError,
    SpecError,
    UnreadableFileError,
)
from segmint.ingest.encoding import repaired_copy
from segmint.ingest.header import positional_names
from segmint.ingest.limits import NAME_CHARS, check_names, check_width, excerpt
from segmint.ingest.problems import ValueProblem
from segmint.ingest.records import parquet_columns, stage_json
from segmint.ingest.sniff import Source
from segmint.ingest.workbook import read_workbook
from segmint.store import quote

__all__ = ["ReadOptions", "Staged", "stage"]

STAGE = "_segmint_stage"


@dataclass
class ReadOptions:
    """How to read a source. Every field is optional; sniffing fills the gaps."""

    delimiter: str | None = None
    encoding: str | None = None
    #: False: the first row is data (CDNOW_sample.txt); None: detected (see ingest.header)
    header: bool | None = None
    #: names of the columns of a file without header row (default column_1 … column_n)
    columns: list[str] | None = None
    sheet: str | int | None = None
    table: str | None = None
    query: str | None = None


@dataclass
class Staged:
    """A source staged for mapping: ``relation`` is SQL usable after FROM."""

    relation: str
    columns: dict[str, str]
    rows: int
    text: bool
    notes: list[str] = field(default_factory=list)
    #: cells the reader found unusable (Excel formulas without a result), by source column
    problems: dict[str, ValueProblem] = field(default_factory=dict)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stage(db: duckdb.DuckDBPyConnection, src: Source, opts: ReadOptions) -> Staged:
    """Read ``src`` into a temp table (or a direct Parquet scan) and describe it."""
    db.execute(f"DROP TABLE IF EXISTS {STAGE}")
    notes: list[str] = []
    problems: dict[str, ValueProblem] = {}
    _settle_header(src, opts)
    if src.kind == "parquet":
        _check_header(src, parquet_columns(src.location))
        relation = (
            f"(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({_lit(src.location)}, file_row_number = true))"
        )
        try:
            columns = _describe(db, relation)
        except duckdb.Error as exc:
            raise UnreadableFileError(
                f"The file starts like Parquet but cannot be read as Parquet ({_first_line(exc)}).",
                where=src.label,
                fix="the file is probably truncated or damaged; export it again.",
            ) from None
        text = False
    else:
        text = src.kind in ("csv", "whitespace", "excel")
        if src.kind == "csv":
            notes += _stage_csv(db, src, opts)
        elif src.kind == "whitespace":
            notes += _stage_whitespace(db, src, opts)
        elif src.kind == "excel":
            notes, problems = _stage_excel(db, src, opts)
        elif src.kind == "json":
            stage_json(db, src.location, src.label, STAGE)
        elif src.kind in ("sqlite", "postgres"):
            _stage_sql(db, src, opts)
        else:  # pragma: no cover - sniff only yields the kinds above
            raise UnreadableFileError(f"Unknown source kind '{src.kind}'.")
        relation = f"(SELECT rowid + 1 AS _row, * FROM {STAGE})"
        columns = _describe(db, relation)
    columns.pop("_row", None)
    check_width(len(columns), src.label)
    check_names(list(columns), src.label)
    row = db.execute(f"SELECT count(*) FROM {relation}").fetchone()
    rows = int(row[0]) if row else 0
    if rows == 0:
        raise EmptyInputError(
            f"The source has column headers ({', '.join(_names(list(columns)[:6]))}"
            f"{', …' if len(columns) > 6 else ''}) but no data rows.",
            where=src.label,
            fix="export again including the data, or check you picked the right sheet/table.",
        )
    return Staged(relation, columns, rows, text, notes, problems)


def _settle_header(src: Source, opts: ReadOptions) -> None:
    """Decide whether the first row is a header; refuse a file that seems to have none.

    With ``opts.header`` False, ``src.header`` becomes the given (or positional) column names
    and the readers keep the first row as data.
    """
    if opts.header is False or opts.columns:
        src.header = _given_names(src, opts)
        _check_header(src, src.header)
    elif opts.header is None and src.headerless:
        raise _headerless_error(src)


def _given_names(src: Source, opts: ReadOptions) -> list[str]:
    """The names of a header-less text file's fields: ``opts.columns`` or column_1 …"""
    if src.kind not in ("csv", "whitespace"):
        raise SpecError(
            f"--no-header and --columns apply to text files (CSV, TSV, whitespace tables), "
            f"not to this {src.kind} source.",
            where=src.label,
            fix="leave them out; the source's own column names are used.",
        )
    if opts.header is not False:
        raise SpecError(
            "--columns names the columns of a file without a header row, but --no-header "
            "was not given, so the file's first row would be read as names as well.",
            where=src.label,
            fix="add --no-header (header: false in the spec's source options), or drop "
            "--columns and map headers with --map canonical=Header.",
        )
    found = src.header or []
    names = list(opts.columns) if opts.columns else positional_names(len(found))
    if len(names) != len(found):
        raise MappingError(
            f"--columns gives {len(names)} names ({', '.join(names)}), but the rows have "
            f"{len(found)} fields (the first line is {excerpt(' | '.join(found))}).",
            where=src.label,
            fix=f"give exactly {len(found)} comma-separated names, one per field.",
        )
    return [n.strip() for n in names]


def _headerless_error(src: Source) -> MappingError:
    first = src.header or []
    shown = excerpt(" | ".join(first[:8]) + (" | …" if len(first) > 8 else ""))
    n = len(first)
    example = ",".join(f"name{i}" for i in range(1, n + 1)) if n <= 6 else f"name1,…,name{n}"
    return MappingError(
        f"The file seems to have no header row: its first line ({shown}) holds values "
        "like the rows below it (numbers and dates), not column names. Read as a header, "
        "that row would be lost and the columns misnamed.",
        where=src.label,
        fix=f"name the {n} columns: --no-header --columns {example} (spec: "
        "options: {header: false, columns: [...]}; Python: header=False, columns=[...]); "
        "or --no-header alone and map by position, e.g. --map customer_id=1. If the first "
        "line is a header after all, pass --header.",
    )


def _names(columns: list[str]) -> list[str]:
    return [excerpt(c, NAME_CHARS) for c in columns]


def _describe(db: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = db.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {r[0]: r[1] for r in rows}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return excerpt(text.splitlines()[0]) if text else type(exc).__name__


def _check_header(src: Source, header: list[str]) -> None:
    seen: dict[str, int] = {}
    dups = []
    for i, name in enumerate(header, start=1):
        key = name.strip()
        if key in seen:
            dups.append(f"'{excerpt(key, NAME_CHARS)}' (columns {seen[key]} and {i})")
        else:
            seen[key] = i
    if dups:
        raise MappingError(
            f"The header names the same column twice: {', '.join(dups[:5])}"
            f"{f' and {len(dups) - 5} more' if len(dups) > 5 else ''}. segmint cannot tell "
            "which one holds the data you mean.",
            where=src.label,
            fix="rename or delete one of the duplicated columns in the file, then import again.",
        )


def _stage_csv(db: duckdb.DuckDBPyConnection, src: Source, opts: ReadOptions) -> list[str]:
    if src.header:
        _check_header(src, src.header)
    # skip = 0: DuckDB's sniffer may otherwise skip leading lines it cannot parse (23 of
    # /etc/passwd's 25 lines), dropping them without a word
    args = ["all_varchar = true", "skip = 0"]
    delim = opts.delimiter or src.delimiter
    if delim:
        args.append(f"delim = {_lit(delim)}")
    if opts.header is not None:
        args.append(f"header = {str(opts.header).lower()}")
    if opts.header is False and src.header:
        args.append(f"names = [{', '.join(_lit(n) for n in src.header)}]")
    if src.compression:
        args.append(f"compression = {_lit(src.compression)}")
    notes: list[str] = []
    encoding = _duck_encoding(opts.encoding or src.encoding)

    def read(path: str, enc: str, args: list[str]) -> None:
        sql = "CREATE TEMP TABLE {t} AS SELECT * FROM read_csv({p}, {a}, encoding = {e})"
        try:
            db.execute(sql.format(t=STAGE, p=_lit(path), a=", ".join(args), e=_lit(enc)))
        except duckdb.Error as exc:
            if "Invalid unicode" in str(exc) and enc == "utf-8" and not opts.encoding:
                raise _NotUtf8 from None
            if delim and "sniffing" in str(exc):
                _refuse_ragged(db, src, f"read_csv({_lit(path)}, {', '.join(args)})")
            raise _csv_error(src, str(exc), enc) from None

    notes += _read_text(src, opts, encoding, args, read)
    cols = list(_describe(db, STAGE))
    if len(cols) == 1:
        _refuse_one_column(db, src, cols[0], args, delim)
    return notes


_SHOWN = {";": "';'", "\t": "'\\t'", "|": "'|'", ",": "','", ":": "':'"}


def _refuse_one_column(
    db: duckdb.DuckDBPyConnection, src: Source, name: str, args: list[str], delim: str | None
) -> None:
    """Refuse a file read as one column whose header holds another delimiter.

    Rows with more or fewer fields than the header make DuckDB fall back to one column, so
    they are looked for first; ':' counts from two on (/etc/passwd, not "Q1: age").
    """
    least = {";": 1, "\t": 1, "|": 1, ",": 1, ":": 2}
    found = [d for d, n in least.items() if name.count(d) >= n and d != delim]
    if not found:
        return
    scan = f"read_csv({_lit(src.location)}, {', '.join(args)}, delim = {_lit(found[0])})"
    _refuse_ragged(db, src, scan)
    shown = _SHOWN[found[0]]
    raise UnreadableFileError(
        f"Every row was read as one single column ('{excerpt(name, NAME_CHARS)}'), "
        f"which contains {shown}: the file seems to be separated by {shown}, not by "
        f"{repr(delim) if delim else 'what was detected'}.",
        where=src.label,
        fix=f"pass --delimiter {shown} (or options: {{delimiter: {shown}}} in the spec).",
    )


_RAGGED = {"TOO MANY COLUMNS": "more", "MISSING COLUMNS": "fewer"}


def _refuse_ragged(db: duckdb.DuckDBPyConnection, src: Source, scan: str) -> None:
    """Refuse a file whose rows have more or fewer fields than its header, naming the lines.

    DuckDB reads such a file as one single column, or cannot detect its dialect; a scan that
    stores the rejected rows finds them. Returns when none are found (another problem).
    """
    rejects = "_segmint_rejects"
    try:
        db.execute(
            f"SELECT count(*) FROM {scan[:-1]}, store_rejects = true, "
            f"rejects_scan = '{rejects}_scans', rejects_table = '{rejects}')"
        ).fetchall()  # the rejects are stored only once the scan has run to its end
        bad = db.execute(
            f"SELECT DISTINCT line, error_type FROM temp.{rejects} WHERE error_type IN "
            f"('TOO MANY COLUMNS', 'MISSING COLUMNS') ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return
    finally:
        db.execute(
            f"DROP TABLE IF EXISTS temp.{rejects}; DROP TABLE IF EXISTS temp.{rejects}_scans"
        )
    if not bad:
        return
    n = len(src.header or [])
    shown = ", ".join(f"line {line} ({_RAGGED[kind]})" for line, kind in bad[:10])
    more = f" and {len(bad) - 10:,} more" if len(bad) > 10 else ""
    raise UnreadableFileError(
        f"{len(bad):,} {'rows have' if len(bad) > 1 else 'row has'} more or fewer fields "
        f"than the {n} columns of the header: {shown}{more}. segmint cannot tell which "
        "values belong in which column there. Nothing was imported.",
        where=src.label,
        fix="correct or delete those lines (a value that contains the delimiter must be "
        'in double quotes, e.g. "Mug, blue"), then import again.',
    )


def _duck_encoding(name: str | None) -> str:
    """The name DuckDB's CSV reader knows for an encoding (Windows-1252 is read as Latin-1)."""
    encoding = (name or "utf-8").lower().replace("_", "-")
    if encoding in ("latin1", "iso-8859-1", "cp1252", "windows-1252"):
        return "latin-1"
    if encoding in ("utf-8-sig", "utf8"):
        return "utf-8"
    return encoding


def _read_text(
    src: Source,
    opts: ReadOptions,
    encoding: str,
    args: list[str],
    read: Callable[[str, str, list[str]], None],
) -> list[str]:
    """Read with the given or detected encoding; a file not all UTF-8 line by line."""
    if opts.encoding or encoding == "utf-8":
        try:
            read(src.location, encoding, args)
            return []
        except _NotUtf8:
            pass
    return _read_not_utf8(src, opts, args, read)


def _read_not_utf8(
    src: Source, opts: ReadOptions, args: list[str], read: Callable[[str, str, list[str]], None]
) -> list[str]:
    """Read a file that is not all UTF-8 through a UTF-8 copy (see :mod:`.encoding`)."""
    plain = [a for a in args if not a.startswith("compression")]
    with repaired_copy(src.location, src.compression, src.label) as (path, found):
        read(path, "utf-8", plain)
    if not found.mixed:
        src.encoding = "cp1252"
        return [
            "The file is not UTF-8; it was read as Windows-1252 (Latin-1 with € ’ “ ”). "
            "Pass --encoding if another encoding is right."
        ]
    header = 0 if opts.header is False else 1
    found.sample = [(line, rec - header, text) for line, rec, text in found.sample]
    src.encoding = "utf-8+cp1252"
    src.repaired = found
    return [
        f"{found.count:,} {'rows are' if found.count > 1 else 'row is'} not UTF-8 "
        f"(file line{'s' if found.count > 1 else ''} {found.lines()}): "
        "they were read as Windows-1252, every other row as UTF-8. Check them in the quality "
        "report; pass --encoding if the whole file has one encoding."
    ]


class _NotUtf8(Exception):
    """DuckDB found bytes that are not UTF-8 (the file's encoding is settled line by line)."""


def _csv_error(src: Source, msg: str, encoding: str = "utf-8") -> UnreadableFileError:
    line = re.search(r"Line: (\d+)", msg)
    where = f"{src.label}, line {line.group(1)}" if line else src.label
    if "Invalid unicode" in msg:
        return UnreadableFileError(
            f"The file is not valid {encoding}: a line holds bytes that are not {encoding} "
            "(--encoding was given, so segmint did not guess).",
            where=where,
            fix="leave out --encoding (segmint then reads lines that are not UTF-8 as "
            "Windows-1252 and lists them), or give the file's real encoding, e.g. "
            "--encoding latin-1.",
        )
    if "Maximum line size" in msg:
        return _too_long(src, msg)
    detail = excerpt(msg.splitlines()[0].replace("Invalid Input Error: ", ""))
    return UnreadableFileError(
        f"The file could not be read as CSV: {detail}",
        where=where,
        fix="check that every row has the same number of fields and that quotes are closed; "
        "pass --delimiter or --encoding if they were detected wrongly.",
    )


def _too_long(src: Source, msg: str) -> UnreadableFileError:
    """A line longer than DuckDB's max_line_size, with its real line number.

    DuckDB names line 1 whatever the line (2.0), so the file is scanned for the first long one.
    """
    size = re.search(r"Maximum line size of (\d+) bytes", msg)
    limit = int(size.group(1)) if size else 2_000_000
    line, length = _first_long_line(src, limit)
    where = f"{src.label}, line {line:,}" if line else src.label
    found = (
        f" (line {line:,} holds {length:,} bytes)"
        if line
        else " (which one is unknown: a quoted field runs over several lines)"
    )
    return UnreadableFileError(
        f"A line of the file is longer than {limit:,} bytes{found}, the most segmint reads "
        "in one row. No customer or order field is that long: usually a quote opened in it "
        "is never closed, so the rest of the file runs into one field. Nothing was imported.",
        where=where,
        fix="check the quotes on that line (and the lines after it), or remove the overlong "
        "column from the export, then import again.",
    )


def _first_long_line(src: Source, limit: int) -> tuple[int | None, int]:
    """The number and length of the first physical line over ``limit`` bytes, if any."""
    opener: Callable[..., Any] = open
    if src.compression == "gzip":
        import gzip

        opener = gzip.open
    line, length = 1, 0
    try:
        with opener(src.location, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                parts = chunk.split(b"\n")
                for i, part in enumerate(parts):
                    if i:
                        line, length = line + 1, 0
                    length += len(part)
                    if length > limit:
                        last = i == len(parts) - 1  # the line goes on in the next chunk
                        return line, _line_length(fh, length) if last else length
    except OSError:
        pass
    return None, 0


def _line_length(fh: Any, length: int) -> int:
    """``length`` plus the rest of the line, read from ``fh`` up to its line break."""
    for more in iter(lambda: fh.read(1 << 20), b""):
        end = more.find(b"\n")
        if end >= 0:
            return length + end
        length += len(more)
    return length


def _stage_whitespace(db: duckdb.DuckDBPyConnection, src: Source, opts: ReadOptions) -> list[str]:
    header = src.header or []
    _check_header(src, header)
    first = 0 if opts.header is False else 1  # rowid of the first data line
    raw = STAGE + "_lines"
    db.execute(f"DROP TABLE IF EXISTS {raw}")

    def read(path: str, enc: str, _args: list[str]) -> None:
        try:
            db.execute(
                f"CREATE TEMP TABLE {raw} AS SELECT string_split_regex(trim(line), '\\s+') AS f "
                f"FROM read_csv({_lit(path)}, columns = {{'line': 'VARCHAR'}}, header = false, "
                f"delim = chr(30), quote = '', escape = '', auto_detect = false, "
                f"encoding = {_lit(enc)}) WHERE trim(line) <> ''"
            )
        except duckdb.Error as exc:
            if "Invalid unicode" in str(exc) and enc == "utf-8" and not opts.encoding:
                raise _NotUtf8 from None
            raise _csv_error(src, str(exc), enc) from None

    notes = _read_text(src, opts, _duck_encoding(opts.encoding or src.encoding), [], read)
    n = len(header)
    bad = db.execute(
        f"SELECT rowid + 1, len(f) FROM {raw} WHERE rowid >= {first} AND len(f) <> {n} LIMIT 1"
    ).fetchone()
    if bad:
        raise UnreadableFileError(
            f"The file looks like a whitespace-separated table with {n} columns "
            f"({excerpt(' '.join(header))}), but line {bad[0]} has {bad[1]} fields.",
            where=src.label,
            fix="fix that line, or save the data as CSV with a delimiter that does not appear "
            "inside values.",
        )
    cols = ", ".join(f"f[{i + 1}] AS {quote(h)}" for i, h in enumerate(header))
    db.execute(
        f"CREATE TEMP TABLE {STAGE} AS SELECT {cols} FROM {raw} WHERE rowid >= {first} "
        "ORDER BY rowid"
    )
    db.execute(f"DROP TABLE {raw}")
    return notes


def _stage_excel(
    db: duckdb.DuckDBPyConnection, src: Source, opts: ReadOptions
) -> tuple[list[str], dict[str, ValueProblem]]:
    """Stage one sheet (see :mod:`segmint.ingest.workbook`); its notes and problem cells."""
    book = read_workbook(src.location, src.label, opts.sheet)
    _check_header(src, [h for h in book.header if h.strip()])
    _stage_arrow(db, book.table)
    return book.notes, book.problems


def _stage_arrow(db: duckdb.DuckDBPyConnection, data: Any) -> None:
    db.register("_segmint_arrow", data)
    try:
        db.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM _segmint_arrow")
    finally:
        db.unregister("_segmint_arrow")


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def _stage_sql(db: duckdb.DuckDBPyConnection, src: Source, opts: ReadOptions) -> None:
    location = src.location
    parsed = urlparse(location) if "://" in location else None
    params = parse_qs(parsed.query) if parsed else {}
    table = opts.table or (params.get("table") or [""])[0] or None
    query = opts.query or (params.get("query") or [""])[0] or None
    if not table and not query:
        raise UnreadableFileError(
            "A database was given but not which table to import.",
            where=_safe_url(location),
            fix="add --table NAME (or ?table=NAME to the URL), or --query 'SELECT …'.",
        )
    if table and not _IDENT.match(table):
        raise UnreadableFileError(
            f"'{table}' is not a plain table name.",
            where=_safe_url(location),
            fix="pass a table name like orders or schema.orders, or use --query for anything else.",
        )
    sql = query or f"SELECT * FROM {table}"
    try:
        if src.kind == "sqlite":
            import adbc_driver_sqlite.dbapi as driver

            path = location
            if parsed:
                path = parsed.path
                if parsed.netloc:  # sqlite://host/path is not a thing; treat as relative
                    path = parsed.netloc + parsed.path
                if path.startswith("//") or (
                    path.startswith("/") and not location.startswith("sqlite:////")
                ):
                    path = path[1:]
            conn = driver.connect(path)
        else:
            import adbc_driver_postgresql.dbapi as driver  # type: ignore[no-redef]

            assert parsed is not None
            clean = urlunparse(parsed._replace(scheme="postgresql", query=""))
            conn = driver.connect(clean)
    except ImportError:
        raise MissingDependencyError(
            "Reading SQL databases needs the ADBC drivers, which are not installed.",
            fix="pip install 'segmint[sql]'",
        ) from None
    except Exception as exc:
        raise UnreadableFileError(
            f"Could not connect to the database: {_first_line(exc)}",
            where=_safe_url(location),
            fix="check the URL, the server, the user and password.",
        ) from None
    try:
        cur = conn.cursor()
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        _stage_arrow(db, reader)
        cur.close()
    except duckdb.Error:
        raise
    except Exception as exc:
        raise UnreadableFileError(
            f"The database refused the query '{sql}': {_first_line(exc)}",
            where=_safe_url(location),
            fix="check the table name (--table) or the query (--query).",
        ) from None
    finally:
        conn.close()


def _safe_url(location: str) -> str:
    """The URL without its password, for messages and logs."""
    if "://" not in location:
        return location
    p = urlparse(location)
    if p.password:
        netloc = p.netloc.replace(f":{p.password}@", ":***@")
        return urlunparse(p._replace(netloc=netloc))
    return location
