"""Typed extra attributes (the columns no canonical field claims), bounded for wide files.

A CRM or survey export can carry hundreds of such columns. DuckDB's planning time grows faster
than linearly with the number of expressions in one statement (20 integer columns typed in one
INSERT took 85 s, 500 crashed it), so every step here works on at most
:data:`~segmint.ingest.limits.EXTRA_BATCH` columns per statement:

1. infer each text column's narrowest type (BIGINT, DOUBLE, BOOLEAN, TIMESTAMP, else text)
   on a sample of :data:`~segmint.ingest.limits.INFER_SAMPLE_ROWS` rows;
2. when rows were left out of the sample, check every row against the inferred type and infer
   the columns that failed again on all rows: the result is the type all rows fit, never a
   type that turns a value outside the sample into NULL;
3. type the columns into temp tables keyed by ``_row`` (beyond one batch), joined when the
   rows are written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb

from segmint.ingest.coerce import Coercion, coerce
from segmint.ingest.limits import EXTRA_BATCH, INFER_SAMPLE_ROWS
from segmint.ingest.readers import STAGE, Staged
from segmint.store import quote

__all__ = ["TYPED_PREFIX", "drop_typed", "infer_types", "stage_typed", "typed_coercion"]

#: temp tables holding typed extra columns: ``<prefix>0``, ``<prefix>1``, …
TYPED_PREFIX = f"{STAGE}_x"
_SAMPLE = f"{STAGE}_sample"
_INT = "'^[+-]?[0-9]+$'"
_LEADING_ZERO = "'^[+-]?0[0-9]'"  # '01234' is a code (zip, id), not the number 1234
_ORDER = ("BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP")


def _v(raw: str) -> str:
    return f"nullif(trim({raw}), '')"


def _fits(v: str, dtype: str) -> str:
    """A predicate: the non-empty text ``v`` reads as ``dtype`` (and typed_expr gives it)."""
    if dtype == "BIGINT":  # TRY_CAST('1.5' AS BIGINT) rounds: integers must look like them
        return (
            f"regexp_matches({v}, {_INT}) AND NOT regexp_matches({v}, {_LEADING_ZERO}) "
            f"AND TRY_CAST({v} AS BIGINT) IS NOT NULL"
        )
    if dtype == "DOUBLE":
        return f"TRY_CAST({v} AS DOUBLE) IS NOT NULL AND NOT regexp_matches({v}, {_LEADING_ZERO})"
    if dtype == "BOOLEAN":
        return f"lower({v}) IN ('true', 'false', 'yes', 'no')"
    return f"length({v}) >= 8 AND TRY_CAST({v} AS TIMESTAMP) IS NOT NULL"


def typed_coercion(db: duckdb.DuckDBPyConnection, staged: Staged, col: str, dtype: str) -> Coercion:
    """How the raw column becomes ``dtype``: not NULL for every value that fits it, except
    inf and NaN in a column of numbers, which are counted as unreadable (``can_fail``)."""
    raw, src_type, text = quote(col), staged.columns[col], staged.text
    if src_type.upper() != "VARCHAR":  # typed sources keep their type (JSON for nested)
        return coerce(db, staged.relation, raw, src_type, dtype, role="attribute", text_source=text)
    v = _v(raw)
    if dtype == "VARCHAR":
        return Coercion(v if text else f"nullif({raw}, '')", False)
    if dtype == "BIGINT":
        return Coercion(f"TRY_CAST({v} AS BIGINT)", False)
    if dtype == "DOUBLE":  # 'inf', 'NaN' and '1e999' read as doubles but are no amounts
        x = f"TRY_CAST({v} AS DOUBLE)"
        return Coercion(f"(CASE WHEN isfinite({x}) THEN {x} END)", True, "number")
    if dtype == "BOOLEAN":
        return Coercion(
            f"CASE WHEN lower({v}) IN ('true', 'yes') THEN true WHEN {v} IS NOT NULL THEN false END",
            False,
        )
    # offsets are honoured (stored in UTC like every time in the workspace)
    return Coercion(
        f"coalesce(timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)), "
        f"timezone('UTC', try_strptime({v}, '%Y-%m-%d %H:%M:%S %z')), "
        f"TRY_CAST({v} AS TIMESTAMP))",
        False,
    )


def _batches(items: Sequence[tuple[str, str]]) -> Iterator[Sequence[tuple[str, str]]]:
    for i in range(0, len(items), EXTRA_BATCH):
        yield items[i : i + EXTRA_BATCH]


def infer_types(
    db: duckdb.DuckDBPyConnection, staged: Staged, extras: dict[str, str]
) -> dict[str, str]:
    """The DuckDB type of each extra attribute (``extras``: source column -> name)."""
    out: dict[str, str] = {}
    text_cols = []
    for col, name in extras.items():
        t = staged.columns[col]
        if t.upper() == "VARCHAR":
            text_cols.append((col, name))
        elif t.upper().startswith(("STRUCT", "MAP")) or t.endswith("]"):
            out[name] = "JSON"
        else:
            out[name] = t
    if not text_cols:
        return out
    if staged.rows <= INFER_SAMPLE_ROWS:
        out.update(_infer(db, staged.relation, text_cols))
        return out
    cols = ", ".join(quote(c) for c, _ in text_cols)
    db.execute(f"DROP TABLE IF EXISTS {_SAMPLE}")
    db.execute(
        f"CREATE TEMP TABLE {_SAMPLE} AS SELECT {cols} FROM {staged.relation} "
        f"USING SAMPLE reservoir({INFER_SAMPLE_ROWS} ROWS) REPEATABLE (18)"
    )
    try:
        out.update(_infer(db, _SAMPLE, text_cols))
    finally:
        db.execute(f"DROP TABLE IF EXISTS {_SAMPLE}")
    failed = _failing(
        db, staged.relation, [(c, n) for c, n in text_cols if out[n] != "VARCHAR"], out
    )
    if failed:
        out.update(_infer(db, staged.relation, failed))
    return out


def _infer(
    db: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """The narrowest type every non-empty value of each column fits.

    One query of a fixed size whatever the width: the columns are unpivoted into
    (column, value) rows and counted per column.
    """
    listed = ", ".join(quote(c) for c, _ in cols)
    fits = ", ".join(f"count(*) FILTER (WHERE {_fits('v', t)})" for t in _ORDER)
    rows = db.execute(
        f"WITH u AS (UNPIVOT (SELECT {listed} FROM {relation}) ON COLUMNS(*) "
        "INTO NAME col VALUE raw), w AS (SELECT col, nullif(trim(raw), '') AS v FROM u) "
        f"SELECT col, count(v), {fits} FROM w GROUP BY col"
    ).fetchall()
    counts = {r[0]: r[1:] for r in rows}
    out: dict[str, str] = {}
    for col, name in cols:
        n, *ok = counts.get(col, (0,) * (len(_ORDER) + 1))
        out[name] = next((t for t, f in zip(_ORDER, ok, strict=True) if n and f == n), "VARCHAR")
    return out


def _failing(
    db: duckdb.DuckDBPyConnection,
    relation: str,
    cols: Sequence[tuple[str, str]],
    types: dict[str, str],
) -> list[tuple[str, str]]:
    """The columns with a non-empty value (anywhere in the file) that does not fit its type."""
    failed: list[tuple[str, str]] = []
    for batch in _batches(cols):
        values = ", ".join(f"{_v(quote(col))} AS v{i}" for i, (col, _) in enumerate(batch))
        aggs = ", ".join(
            f"count(*) FILTER (WHERE v{i} IS NOT NULL AND NOT ({_fits(f'v{i}', types[name])}))"
            for i, (_, name) in enumerate(batch)
        )
        row = db.execute(f"SELECT {aggs} FROM (SELECT {values} FROM {relation})").fetchone()
        assert row is not None
        failed += [cn for cn, bad in zip(batch, row, strict=True) if bad]
    return failed


def stage_typed(
    db: duckdb.DuckDBPyConnection, staged: Staged, exprs: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Where the typed extras come from when the rows are written.

    Returns ``(inline, tables)``: up to one batch of columns stays inline (name -> SQL over
    the raw columns, no extra pass over the data); more are typed into temp tables of
    ``_row`` plus one batch of columns each, to be joined on ``_row``.
    """
    if len(exprs) <= EXTRA_BATCH:
        return dict(exprs), []
    tables = []
    for i, batch in enumerate(_batches(list(exprs.items()))):
        table = f"{TYPED_PREFIX}{i}"
        cols = ", ".join(f"{e} AS {quote(n)}" for n, e in batch)
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TEMP TABLE {table} AS SELECT _row, {cols} FROM {staged.relation}")
        tables.append(table)
    return {}, tables


def drop_typed(db: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables :func:`stage_typed` made."""
    for (table,) in db.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
        [TYPED_PREFIX],
    ).fetchall():
        db.execute(f"DROP TABLE IF EXISTS {quote(table)}")
