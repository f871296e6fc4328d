"""Import on an engine other than the embedded one (Spark): the same mapping, typed in the engine.

The embedded import (``_pipeline.py``) stages a file in DuckDB and types it with SQL segmint
writes for DuckDB. On Spark the file stays where Spark reads it, and the same decisions are
made and applied there:

- the header mapping (:func:`segmint.ingest.mapping.resolve`: export formats, synonyms,
  an explicit ``mapping``) is the embedded one, on the file's header;
- Parquet and Delta keep their types (cast to the canonical types); a CSV's text columns are
  typed in the engine: numbers and ISO 8601 times by ``TRY_CAST``, other date formats by the
  format the embedded import detects on a sample of the column's values (converted to
  Spark's pattern letters); an unreadable value becomes NULL and is counted per column;
- derived columns (an order id from customer × time, the status from the amount, an export
  format's rules) are the embedded import's SQL, translated to the engine's dialect by
  sqlglot (the translator Ibis itself uses), so both engines derive the same values;
- ``_row`` numbers the rows in the file's order (:meth:`Engine.row_ids`).

What the embedded import adds and this one does not (yet): mixed encodings and repaired
lines, quality gates on unreadable values (they are counted and reported), typed extra
columns of a CSV (they stay text), export formats that fill values down a group of lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot

from segmint.exceptions import InputError
from segmint.ingest._pipeline import _GENERIC_DERIVE, _STATUS_NORMALIZE
from segmint.ingest.coerce import NULL_TOKENS, NUMBER_NULL_TOKENS
from segmint.ingest.mapping import resolve
from segmint.store.schema import CANONICAL, IBIS_TYPES

__all__ = ["EngineImport", "detect_format", "import_plan"]

#: strptime directive → Spark (Java) pattern letters
_JAVA = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%b": "MMM",
    "%B": "MMMM",
    "%z": "XX",
    "%j": "DDD",
    "%a": "EEE",
    "%A": "EEEE",
}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


@dataclass
class EngineImport:
    """One file read into a canonical table's shape (not written yet)."""

    table: str
    expr: ir.Table
    mapping: dict[str, str]
    #: canonical column → values that could not be read (NULL now)
    unreadable: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def detect_format(path: str) -> str:
    """csv, parquet or delta from the path (a folder with ``_delta_log`` is Delta)."""
    p = Path(path)
    if (p / "_delta_log").exists():
        return "delta"
    suffix = p.suffix.lower() if p.suffix else ""
    if suffix in (".parquet", ".pq") or (p.is_dir() and any(p.glob("*.parquet"))):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv") or p.is_dir():
        return "csv"
    raise InputError(
        f"Cannot tell the format of '{path}' (expected .csv, .parquet or a Delta folder).",
        fix="name the format: format: parquet (spec) or rename the file.",
    )


def import_plan(
    engine: Any,
    path: str,
    *,
    into: str | None = None,
    format: str = "auto",
    mapping: dict[str, str] | None = None,
) -> EngineImport:
    """The file at ``path`` mapped and typed as canonical table ``into`` (guessed when None),
    as an expression of ``engine``, with ``_row``; ``_run_id`` is added when it is written."""
    fmt = detect_format(path) if format == "auto" else format
    raw = engine.read(path, fmt)
    headers = list(raw.columns)
    cmap = resolve(headers, entity=into, explicit=mapping, where=path)
    schema = CANONICAL[cmap.entity]
    text = fmt == "csv"
    raw = engine.row_ids(raw)
    inner: dict[str, ir.Value] = {}
    notes: list[str] = []
    patterns: dict[str, str] = {}  # date columns read with a detected format (strptime)
    for name, col in cmap.columns.items():
        if name not in schema.names:
            continue  # an export format's auxiliary column (not carried on this engine)
        target = IBIS_TYPES[schema.column(name).dtype]
        where = f"{cmap.entity}.{name}"
        inner[name] = _typed(raw, col, target, text, notes, where, patterns.setdefault)
    for col, name in cmap.extras.items():
        inner[name] = _blank(raw[col]) if text and raw[col].type().is_string() else raw[col]
    inner["_row"] = raw["_row"].cast("int64")
    typed = raw.select(**inner)
    unreadable = _unreadable(raw, inner, cmap.columns, text)
    if patterns:
        typed, bad = _parse_dates(engine, typed, patterns)
        unreadable |= bad
    out = _derived(engine, typed, cmap, schema)
    return EngineImport(cmap.entity, out, dict(cmap.columns), unreadable, notes)


def _blank(v: ir.Value, tokens: tuple[str, ...] = NULL_TOKENS) -> ir.Value:
    """The embedded import's ``blank_to_null``: spaces trimmed (as DuckDB's ``trim``; not
    Ibis' ``strip``, which Spark misreads), and the null tokens ('', 'NA', 'null', …) NULL."""
    s = v.cast("string").re_replace("^ +| +$", "")
    return ibis.ifelse(s.lower().isin(tokens), ibis.null("string"), s)


def _typed(
    raw: ir.Table,
    col: str,
    target: str,
    text: bool,
    notes: list[str],
    where: str,
    pattern_for: Any,
) -> Any:
    """The typed value of ``col``; a date column with a detected format stays text here and
    is parsed by :func:`_parse_dates` (``pattern_for(name, format)`` records it)."""
    v = raw[col]
    if not text or not v.type().is_string():
        if target == "timestamp" and v.type().is_timestamp() and v.type().timezone:
            return v.cast("timestamp('UTC')").cast("timestamp")
        if target == "string" and v.type().is_string():  # as stored; only '' is NULL
            return ibis.ifelse(v == "", ibis.null("string"), v)
        return v.cast(target)
    if target == "string":  # the embedded import: trimmed, empty is NULL (no null tokens)
        t = v.re_replace("^ +| +$", "")
        return ibis.ifelse(t == "", ibis.null("string"), t)
    s = _blank(v)
    if target == "float64":
        return _blank(v, NUMBER_NULL_TOKENS).try_cast(target)
    if target in ("int64", "int32"):
        # DuckDB reads '3.0' (what pandas writes for whole numbers in a column with gaps)
        # and '2.5' as whole numbers, rounding halves away from zero; Spark's cast gives
        # NULL for both, so a second try goes through an exact decimal, rounded the same way
        n = _blank(v, NUMBER_NULL_TOKENS)
        return ibis.coalesce(
            n.try_cast(target), n.try_cast("decimal(38, 10)").round(0).try_cast(target)
        )
    if target == "boolean":
        low = s.lower()
        return ibis.cases((low.isin(_TRUE), True), (low.isin(_FALSE), False), else_=ibis.null())
    if target in ("timestamp", "date"):
        pattern = _date_pattern(raw, col)
        if pattern is None:
            return s.try_cast(target)
        notes.append(f"{where} ('{col}'): read as {pattern}")
        pattern_for(where.split(".", 1)[1], pattern)
        return s
    return s.try_cast(target)


def _parse_dates(
    engine: Any, typed: ir.Table, patterns: dict[str, str]
) -> tuple[ir.Table, dict[str, int]]:
    """The text date columns of ``patterns`` parsed with their format in the engine's own
    forgiving parser (Spark ``try_to_timestamp`` with the Java pattern, DuckDB
    ``try_strptime``): a value that does not read becomes NULL and is counted, never an error
    (Spark's ``to_timestamp`` stops the query on one bad value in ANSI mode)."""
    dialect = engine.ibis.name
    cols = []
    for c in typed.columns:
        if c in patterns and dialect == "pyspark":
            java = _java_pattern(patterns[c]).replace("'", "\\'")
            cols.append(f"try_to_timestamp({_q(c, dialect)}, '{java}') AS {_q(c, dialect)}")
        elif c in patterns:
            fmt = patterns[c].replace("'", "''")
            cols.append(f"try_strptime({_q(c, dialect)}, '{fmt}') AS {_q(c, dialect)}")
        else:
            cols.append(_q(c, dialect))
    parsed = engine.select_sql(typed, cols)
    parsed = parsed.mutate(**{c: parsed[c].cast("timestamp") for c in patterns})
    counts = {f"t_{c}": typed[c].count() for c in patterns}
    before = typed.aggregate(**counts).to_pyarrow().to_pylist()[0]
    after = parsed.aggregate(**{f"t_{c}": parsed[c].count() for c in patterns})
    got = after.to_pyarrow().to_pylist()[0]
    bad = {c: int(before[f"t_{c}"]) - int(got[f"t_{c}"]) for c in patterns}
    return parsed, {c: n for c, n in bad.items() if n}


def _date_pattern(raw: ir.Table, col: str) -> str | None:
    """The strptime format of the column's dates, detected (as the embedded import does) on
    up to 5,000 distinct values pulled from the engine; None for ISO 8601."""
    import duckdb

    from segmint.ingest.coerce import detect_datetime_format

    values = raw.select(v=_blank(raw[col])).filter(ibis._.v.notnull()).distinct().limit(5000)
    local = duckdb.connect()
    local.register("_sample", values.to_pyarrow())
    formats, _note = detect_datetime_format(local, "_sample", "v")
    local.close()
    if not formats or formats[0] in ("iso", "epoch"):
        return None
    return formats[0]


def _java_pattern(strptime: str) -> str:
    out, i = [], 0
    while i < len(strptime):
        two = strptime[i : i + 2]
        if two in _JAVA:
            out.append(_JAVA[two])
            i += 2
        elif strptime[i].isalpha():
            out.append(f"'{strptime[i]}'")
            i += 1
        else:
            out.append(strptime[i])
            i += 1
    return "".join(out)


def _unreadable(
    raw: ir.Table, typed: dict[str, ir.Value], columns: dict[str, str], text: bool
) -> dict[str, int]:
    """Per canonical column, values present in the file but NULL after typing (text only)."""
    if not text:
        return {}
    checks = {
        name: (_blank(raw[col]).notnull() & typed[name].isnull())
        for name, col in columns.items()
        if name in typed and not typed[name].type().is_string()
    }
    if not checks:
        return {}
    agg = raw.aggregate(**{n: c.cast("int64").sum() for n, c in checks.items()})
    row = agg.to_pyarrow().to_pylist()[0]
    return {n: int(v or 0) for n, v in row.items() if v}


def _derived(engine: Any, typed: ir.Table, cmap: Any, schema: Any) -> ir.Table:
    """Every canonical column in order (derived or NULL when the file lacks it), the extras,
    then ``_row``: the embedded import's derivations, in the engine's SQL dialect."""
    fmt = cmap.fmt
    have = set(typed.columns)
    exprs: dict[str, str] = {}
    for column in schema.columns:
        n = column.name
        if n in fmt.override:
            exprs[n] = fmt.override[n]
        elif n in have:
            exprs[n] = _q(n)  # DuckDB quoting: translated by _sql
        elif n in fmt.derive:
            exprs[n] = fmt.derive[n]
        elif n in _GENERIC_DERIVE.get(cmap.entity, {}):
            exprs[n] = _GENERIC_DERIVE[cmap.entity][n](have)
        else:
            exprs[n] = f"CAST(NULL AS {_sql_type(column.dtype)})"
    if cmap.entity == "orders" and "status" in have and "status" not in fmt.override:
        exprs["status"] = _STATUS_NORMALIZE
    missing = {
        n: f"CAST(NULL AS {_sql_type(schema.column(n).dtype)})"
        for n in schema.names
        if n not in have
    }
    dialect = engine.ibis.name
    base = typed.mutate(
        **{n: ibis.null(IBIS_TYPES[s.split("(")[0]]) for n, s in _types(missing).items()}
    )
    cols = [f"{_sql(e, dialect)} AS {_q(n, dialect)}" for n, e in exprs.items()]
    cols += [_q(c, dialect) for c in typed.columns if c not in exprs]
    derived = engine.select_sql(base, cols)
    casts = {c.name: IBIS_TYPES[c.dtype] for c in schema.columns}
    return derived.mutate(**{n: derived[n].cast(t) for n, t in casts.items()})


def _sql_type(dtype: str) -> str:
    return "VARCHAR" if dtype == "JSON" else dtype


def _types(missing: dict[str, str]) -> dict[str, str]:
    return {n: e.removeprefix("CAST(NULL AS ").removesuffix(")") for n, e in missing.items()}


def _sql(expr: str, dialect: str) -> str:
    """A DuckDB SQL expression of the embedded import in ``dialect``."""
    if dialect == "duckdb":
        return expr
    out = sqlglot.transpile(
        expr, read="duckdb", write="spark" if dialect == "pyspark" else dialect
    )[0]
    # sqlglot leaves the T of ISO 8601 unquoted in Spark's pattern ('…ddTHH…'), which Spark
    # refuses: format the date and the time apart and join them with a literal T
    return re.sub(
        r"DATE_FORMAT\(([^()]+), 'yyyy-MM-ddTHH:mm:ss'\)",
        r"DATE_FORMAT(\1, 'yyyy-MM-dd') || 'T' || DATE_FORMAT(\1, 'HH:mm:ss')",
        out,
    )


def _q(name: str, dialect: str = "duckdb") -> str:
    if dialect == "pyspark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'
