"""JSON and Parquet whose structure is not a table of records: refused with what was found.

segmint reads a JSON array of objects, NDJSON (one object per line) and flat Parquet; nested
objects, lists and structs inside a record are kept as JSON values. Anything else used to be
read as something else: a JSON number or a list of lists became one column named ``json``
imported as customers, a wrapped ``{"data": [...]}`` became one row, a Parquet file with two
columns of the same name had the second silently renamed. Each is now an error naming the
file, what was found and where, and how to get records out of it.
"""

from __future__ import annotations

import re
from collections import Counter

import duckdb

from segmint.exceptions import MappingError, UnreadableFileError

__all__ = ["parquet_columns", "stage_json"]

MAX_DEPTH = 128  # DuckDB's JSON parser limit on nesting
_RECORDS_FIX = (
    'export the data as a JSON array of objects ([{"order_id": "A1", …}, …]) or one object '
    "per line (NDJSON), or as CSV."
)


def parquet_columns(path: str) -> list[str]:
    """The top-level column names of a Parquet file, duplicates kept (empty when unreadable)."""
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:  # a damaged file: the Parquet scan reports it
        return []


def stage_json(db: duckdb.DuckDBPyConnection, path: str, label: str, table: str) -> None:
    """Read JSON/NDJSON records at ``path`` into the temp ``table``, or say what is wrong."""
    source = "read_json_auto({p}, format = 'auto', sample_size = 20480, maximum_depth = 3{r})"
    lit = "'" + path.replace("'", "''") + "'"
    try:
        db.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {source.format(p=lit, r='')}")
    except duckdb.Error as exc:
        raise _json_error(str(exc), label) from None
    columns = {r[0]: r[1] for r in db.execute(f"DESCRIBE {table}").fetchall()}
    if list(columns) == ["json"]:
        as_records = source.format(p=lit, r=", records = 'true'")
        try:
            db.execute(f"DESCRIBE SELECT * FROM {as_records}").fetchall()
        except duckdb.Error:
            raise _not_records(db, table, label) from None
    _refuse_wrapped(db, table, columns, label)


def _json_error(msg: str, label: str) -> Exception:
    first = msg.strip().splitlines()[0] if msg.strip() else "unknown error"
    dup = re.search(r'record/value (\d+).*duplicate key "([^"]*)"', msg, re.S)
    if dup:
        return MappingError(
            f"Record {dup.group(1)} of the JSON names the key '{dup.group(2)}' twice; segmint "
            "cannot tell which value is meant.",
            where=label,
            fix="write each key once per record (rename one of them), then import again.",
        )
    if "maximum recursion depth" in msg:
        return UnreadableFileError(
            f"The JSON is nested more than {MAX_DEPTH} levels deep, deeper than any table of "
            "records (nested objects inside a record are kept as JSON values).",
            where=label,
            fix="flatten the data into records of plain fields; " + _RECORDS_FIX,
        )
    return UnreadableFileError(
        f"The file starts like JSON but cannot be read as JSON or NDJSON: {first[:300]}",
        where=label,
        fix="check that it is one JSON array of objects, or one JSON object per line.",
    )


_KINDS = {
    "BIGINT": "a number",
    "UBIGINT": "a number",
    "DOUBLE": "a number",
    "VARCHAR": "a string",
    "BOOLEAN": "true/false",
    "ARRAY": "a list",
    "NULL": "null",
    "OBJECT": "an object",
}


def _not_records(db: duckdb.DuckDBPyConnection, table: str, label: str) -> UnreadableFileError:
    """The JSON holds values other than objects at the top level: say which and where."""
    rows = db.execute(
        f"SELECT rowid + 1, json_type(to_json(json)), left(CAST(to_json(json) AS VARCHAR), 60) "
        f"FROM {table}"
    ).fetchall()
    kinds = Counter(str(r[1]) for r in rows)
    first = next((r for r in rows if r[1] != "OBJECT"), rows[0] if rows else (1, "NULL", ""))
    what = _KINDS.get(str(first[1]), str(first[1]).lower())
    if len(rows) == 1:
        found = f"a single value, {what} ({first[2]})"
    elif kinds.get("ARRAY", 0) == len(rows):
        found = (
            f"a list of {len(rows):,} lists (rows without column names; the first is {first[2]})"
        )
    else:
        shown = ", ".join(f"{n:,} × {_KINDS.get(k, k.lower())}" for k, n in kinds.most_common())
        found = f"{len(rows):,} elements ({shown}); element {first[0]} is {what} ({first[2]})"
    return UnreadableFileError(
        f"The JSON holds {found}, not records (objects whose fields name the columns).",
        where=label,
        fix=_RECORDS_FIX,
    )


def _refuse_wrapped(
    db: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], label: str
) -> None:
    """One object wrapping the records ({"data": [{…}, …]}) is not one record: refuse it."""
    lists = [c for c, t in columns.items() if t.startswith("STRUCT") and t.endswith("[]")]
    if not lists:
        return
    counts = db.execute(
        f"SELECT count(*), {', '.join(f'max(len({_q(c)}))' for c in lists)} FROM {table}"
    ).fetchall()[0]
    if counts[0] != 1:
        return
    name, n = max(zip(lists, counts[1:], strict=True), key=lambda cn: cn[1] or 0)
    if not n or n < 2:
        return
    raise UnreadableFileError(
        f"The JSON is one object whose field '{name}' holds a list of {n:,} records; read as "
        "it is, the whole file would be a single record.",
        where=label,
        fix=f"extract the records first, e.g. jq -c '.{name}[]' FILE > records.ndjson, and "
        "import that file.",
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
