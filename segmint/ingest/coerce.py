"""Type coercion as SQL: text → timestamps (UTC), dates, money, numbers, booleans, ids, JSON.

Each builder returns a DuckDB SQL expression over a raw column. A value that cannot be read
becomes NULL; the pipeline counts and samples those values (file, row, column, value, reason)
instead of failing. Formats are detected per column from a sample of its distinct values, so
'12/1/2010 8:26' and '1.234,56 €' are read the way the column as a whole reads them.

Readable is not enough: a value must also be usable downstream. A number must be finite
(``inf``, ``-Infinity``, ``NaN`` and ``1e999``, which overflows a double, are counted as
invalid: one of them turns every sum, mean and model fit it reaches into inf/NaN). A time in a
canonical column must be plausible (:func:`plausible_range`): '9999-12-31' and '0001-01-01'
are placeholders or typos, and one of them would become the run's as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb

__all__ = [
    "EARLIEST_BIRTH",
    "EARLIEST_TIME",
    "FUTURE_MARGIN_DAYS",
    "Coercion",
    "coerce",
    "lit",
    "plausible_range",
    "role_of",
]

NULL_TOKENS = ("", "na", "n/a", "null", "none", "nan", "nat", "-", "--", "#n/a")
#: in number columns 'nan' is a value (IEEE not-a-number, e.g. 0/0 upstream), not a blank
NUMBER_NULL_TOKENS = tuple(t for t in NULL_TOKENS if t != "nan")

#: the plausible range of order, event, answer, sign-up and campaign times: from
#: EARLIEST_TIME to today (UTC) + FUTURE_MARGIN_DAYS (scheduled campaigns, time zones)
EARLIEST_TIME = date(1900, 1, 1)
FUTURE_MARGIN_DAYS = 366
#: birth dates may be older, but not in the future
EARLIEST_BIRTH = date(1850, 1, 1)

# Candidate strptime formats, most specific first. ISO 8601 (with or without offset) is tried
# through CAST before these.
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",
)

_TRUE = ("true", "t", "yes", "y", "1", "subscribed", "opted in", "opt-in", "x", "on", "checked")
_FALSE = (
    "false",
    "f",
    "no",
    "n",
    "0",
    "unsubscribed",
    "opted out",
    "opt-out",
    "off",
    "unchecked",
    "cleaned",
    "non-subscribed",
)
_MONEY_RE = r"^[\s(+\-]*([A-Za-z]{1,3}\$?|[$€£¥₹])?\s*[+\-]?[0-9][0-9.,' ]{0,40}\s*([A-Za-z]{3}|[$€£¥₹])?[\s)]*$"


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Coercion:
    """How one raw column becomes one typed column."""

    expr: str
    #: True when a non-empty raw value can fail to convert (then failures are counted).
    can_fail: bool
    #: the kind of check, for the quality report and gates: date, number, boolean, json.
    check: str = ""
    note: str = ""
    #: why a value fails, in words, when more precise than the check's generic reason
    reason: str = ""


def plausible_range(role: str = "", today: date | None = None) -> tuple[date, date]:
    """The first and last plausible day (both inclusive) of a canonical time column.

    ``role`` "birth" is a birth date (1850-01-01 … today); any other time (orders, events,
    answers, sign-ups, campaigns) lies in 1900-01-01 … today + 366 days.
    """
    today = today or datetime.now(UTC).date()
    if role == "birth":
        return EARLIEST_BIRTH, today
    return EARLIEST_TIME, today + timedelta(days=FUTURE_MARGIN_DAYS)


def role_of(name: str, ids: set[str] | frozenset[str] = frozenset()) -> str:
    """The coercion role of canonical column ``name``: "id", "birth" or "" (plain)."""
    if name in ids:
        return "id"
    return "birth" if name == "birth_date" else ""


def blank_to_null(raw: str, tokens: tuple[str, ...] = NULL_TOKENS) -> str:
    listed = ", ".join(lit(t) for t in tokens)
    return f"CASE WHEN lower(trim({raw})) IN ({listed}) THEN NULL ELSE trim({raw}) END"


def _finite(expr: str) -> str:
    """``expr`` when it is a finite number, else NULL (inf, -inf and NaN)."""
    return f"(CASE WHEN isfinite({expr}) THEN {expr} END)"


def coerce(
    db: duckdb.DuckDBPyConnection,
    relation: str,
    raw: str,
    src_type: str,
    target: str,
    *,
    role: str = "",
    date_format: str | None = None,
    timezone: str = "UTC",
    text_source: bool = True,
) -> Coercion:
    """Build the expression turning ``raw`` (of DuckDB type ``src_type``) into ``target``.

    ``role`` refines the target: ``id`` normalizes identifiers ('17850.0' → '17850');
    ``birth`` gives a time the birth-date range, ``attribute`` (an extra column) no range,
    anything else the range of order and event times (see :func:`plausible_range`).
    ``text_source`` is False for typed sources (Parquet, SQL, JSON): their strings are taken
    as stored, without trimming (which costs a copy of every string).
    """
    src = src_type.upper()
    tgt = target.upper()
    is_text = src == "VARCHAR"
    if tgt == "VARCHAR":
        if is_text:
            expr = f"nullif(trim({raw}), '')" if text_source else f"nullif({raw}, '')"
            if role == "id":  # '17850.0' (a float-ified id) → '17850'; LIKE first: cheap
                expr = (
                    f"CASE WHEN {raw} LIKE '%.0' THEN regexp_replace({expr}, "
                    f"'^([0-9]+)\\.0+$', '\\1') ELSE {expr} END"
                )
            return Coercion(expr, False)
        if role == "id" and (src in ("DOUBLE", "FLOAT", "REAL") or src.startswith("DECIMAL")):
            return Coercion(
                f"CASE WHEN {raw} = floor({raw}) THEN CAST(CAST({raw} AS HUGEINT) AS VARCHAR) "
                f"ELSE CAST({raw} AS VARCHAR) END",
                False,
            )
        if src.startswith(("STRUCT", "MAP")) or src.endswith("[]"):
            return Coercion(f"CAST(to_json({raw}) AS VARCHAR)", False)
        return Coercion(f"CAST({raw} AS VARCHAR)", False)
    if tgt in ("TIMESTAMP", "DATE"):
        bounds = None if role == "attribute" else plausible_range(role)
        c = _coerce_time(db, relation, raw, src, tgt, date_format, timezone)
        return _in_range(c, bounds) if bounds else c
    if tgt in ("DOUBLE", "INTEGER", "BIGINT"):
        return _coerce_number(db, relation, raw, src, tgt)
    if tgt == "BOOLEAN":
        if src == "BOOLEAN":
            return Coercion(raw, False)
        text = f"lower(trim(CAST({raw} AS VARCHAR)))"
        t = ", ".join(lit(v) for v in _TRUE)
        f = ", ".join(lit(v) for v in _FALSE)
        return Coercion(
            f"CASE WHEN {text} IN ({t}) THEN true WHEN {text} IN ({f}) THEN false END",
            True,
            "boolean",
        )
    if tgt == "JSON":
        if is_text:
            v = blank_to_null(raw)
            return Coercion(f"CASE WHEN json_valid({v}) THEN CAST({v} AS JSON) END", True, "json")
        return Coercion(f"to_json({raw})", False)
    return Coercion(f"TRY_CAST({raw} AS {tgt})", is_text, "value")


def _coerce_time(
    db: duckdb.DuckDBPyConnection,
    relation: str,
    raw: str,
    src: str,
    tgt: str,
    date_format: str | None,
    timezone: str,
) -> Coercion:
    to_utc = _utc_converter(timezone)
    if src.startswith("TIMESTAMP WITH TIME ZONE"):
        expr = f"timezone('UTC', {raw})"
        return Coercion(f"CAST({expr} AS DATE)" if tgt == "DATE" else expr, False)
    if src.startswith("TIMESTAMP") or src == "DATE":
        expr = to_utc(f"CAST({raw} AS TIMESTAMP)") if src != "DATE" else f"CAST({raw} AS TIMESTAMP)"
        return Coercion(f"CAST({expr} AS DATE)" if tgt == "DATE" else expr, False)
    if src in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT"):
        return Coercion(_epoch(raw, _epoch_unit(db, relation, raw)), True, "date")
    v = blank_to_null(raw)
    note = ""
    formats = [date_format] if date_format else None
    if formats is None:
        formats, note = detect_datetime_format(db, relation, v)
    if formats == ["epoch"]:
        num = f"TRY_CAST({v} AS DOUBLE)"
        expr = _epoch(num, _epoch_unit(db, relation, num))
    else:
        parts = []
        for fmt in formats:
            if fmt == "iso":
                continue
            parsed = f"try_strptime({v}, {lit(fmt)})"
            parts.append(f"timezone('UTC', {parsed})" if "%z" in fmt else to_utc(parsed))
        parts.append(_iso_to_utc(v, timezone))  # ISO 8601 always reads
        expr = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
    if tgt == "DATE":
        expr = f"CAST({expr} AS DATE)"
    return Coercion(expr, True, "date", note)


def _in_range(c: Coercion, bounds: tuple[date, date]) -> Coercion:
    """Times outside ``bounds`` become NULL and are counted (see :func:`plausible_range`)."""
    lo, hi = bounds
    end = hi + timedelta(days=1)
    expr = (
        f"(CASE WHEN {c.expr} >= TIMESTAMP '{lo.isoformat()}' "
        f"AND {c.expr} < TIMESTAMP '{end.isoformat()}' THEN {c.expr} END)"
    )
    reason = f"not a date/time from {lo.isoformat()} to {hi.isoformat()}"
    return Coercion(expr, True, "date", c.note, reason)


def _utc_converter(timezone: str):  # type: ignore[no-untyped-def]
    if timezone.upper() == "UTC":
        return lambda e: e
    return lambda e: f"timezone('UTC', timezone({lit(timezone)}, {e}))"


def _iso_to_utc(v: str, timezone: str) -> str:
    if timezone.upper() == "UTC":
        return f"timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ))"
    return (
        f"CASE WHEN regexp_matches({v}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
        f"THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)) "
        f"ELSE timezone('UTC', timezone({lit(timezone)}, TRY_CAST({v} AS TIMESTAMP))) END"
    )


def _epoch_unit(db: duckdb.DuckDBPyConnection, relation: str, num: str) -> str:
    row = db.execute(f"SELECT median(abs({num})) FROM {relation}").fetchone()
    m = float(row[0]) if row and row[0] is not None else 0.0
    return "s" if m < 1e11 else "ms" if m < 1e14 else "us"


def _epoch(num: str, unit: str) -> str:
    """Unix time to UTC; seconds outside ±10^11 (about ±3,000 years) are NULL, not an error."""
    div = {"s": "1", "ms": "1000.0", "us": "1000000.0"}[unit]
    secs = f"(CAST({num} AS DOUBLE) / {div})"
    return f"(CASE WHEN abs({secs}) < 1e11 THEN timezone('UTC', to_timestamp({secs})) END)"


def _swapped(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def detect_datetime_format(
    db: duckdb.DuckDBPyConnection, relation: str, value_expr: str
) -> tuple[list[str], str]:
    """The formats that read a sample of distinct values, best first.

    Returns ``(formats, note)``: ``['epoch']`` for Unix times; otherwise strptime patterns that
    read part of the sample, most successful first (ISO 8601 is always tried last and is
    ``'iso'`` when it reads best). A format that is the day/month swap of one already chosen is
    left out, so one column is never read both ways; the note names that ambiguity.
    """
    sample = (
        f"SELECT DISTINCT {value_expr} AS v FROM {relation} "
        f"WHERE {value_expr} IS NOT NULL LIMIT 5000"
    )
    counts = ", ".join(
        [
            "count(*)",
            "count(TRY_CAST(v AS TIMESTAMPTZ))",
            "count(*) FILTER (WHERE regexp_matches(v, '^[0-9]{9,16}(\\.[0-9]+)?$'))",
        ]
        + [f"count(try_strptime(v, {lit(f)}))" for f in DATETIME_FORMATS]
    )
    row = db.execute(f"WITH s AS ({sample}) SELECT {counts} FROM s").fetchone()
    if not row or not row[0]:
        return ["iso"], ""
    total, iso, epoch, *per_fmt = (int(x) for x in row)
    if epoch == total:
        return ["epoch"], "read as Unix time"
    ranked = sorted(
        (("iso", iso), *zip(DATETIME_FORMATS, per_fmt, strict=True)),
        key=lambda fc: -fc[1],  # stable: ties keep the order of DATETIME_FORMATS (ISO first)
    )
    chosen: list[str] = []
    note = ""
    for fmt, count in ranked:
        if count == 0:
            break
        if fmt != "iso" and _swapped(fmt) in chosen:
            if count == dict(ranked).get(_swapped(fmt)) and not note:
                first = _swapped(fmt)
                note = (
                    f"dates such as 01/02 are ambiguous in this column; read as '{first}'. "
                    "Pass --date-format '%d/%m/%Y' (or date_format in the spec) if the day "
                    "comes first."
                )
            continue
        chosen.append(fmt)
    return chosen or ["iso"], note


_EXACT_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER")
_FLOATS = ("DOUBLE", "FLOAT", "REAL")


def _coerce_number(
    db: duckdb.DuckDBPyConnection, relation: str, raw: str, src: str, tgt: str
) -> Coercion:
    """Numbers and money; inf, NaN and values beyond the target's range become NULL (counted)."""
    if src != "VARCHAR":
        return _typed_number(raw, src, tgt)
    v = blank_to_null(raw, NUMBER_NULL_TOKENS)
    comma = _decimal_comma(db, relation, v)
    s = f"regexp_replace({v}, '[^0-9,.\\-()]', '', 'g')"
    digits = f"replace(replace({s}, '.', ''), ',', '.')" if comma else f"replace({s}, ',', '')"
    num = (
        f"CASE WHEN regexp_matches({v}, {lit(_MONEY_RE)}) THEN "
        f"(CASE WHEN contains({v}, '(') AND contains({v}, ')') THEN -1 ELSE 1 END) * "
        f"abs(TRY_CAST(replace(replace({digits}, '(', ''), ')', '') AS DOUBLE)) * "
        f"(CASE WHEN regexp_matches({v}, '^[\\s(]*-|-[\\s)]*$|^[^0-9]*-') THEN -1 ELSE 1 END) END"
    )
    # only the plain cast can yield inf/NaN: the money pattern admits no exponent, no words
    # and at most 40 digits and separators (a wrapper around the whole expression would double
    # it, and DuckDB's planning time grows faster than the expression)
    if tgt in ("INTEGER", "BIGINT"):  # TRY_CAST makes inf, NaN and overflow NULL
        expr = f"coalesce(TRY_CAST({v} AS DOUBLE), {num})"
        expr = f"CASE WHEN ({expr}) = floor({expr}) THEN TRY_CAST({expr} AS {tgt}) END"
    else:
        expr = f"coalesce({_finite(f'TRY_CAST({v} AS DOUBLE)')}, {num})"
    note = "decimal comma (1.234,56)" if comma else ""
    return Coercion(expr, True, "number", note)


def _typed_number(raw: str, src: str, tgt: str) -> Coercion:
    """A number from a typed source (Parquet, JSON, SQL): finite, and within ``tgt``'s range."""
    if src in _FLOATS:
        expr = _finite(raw)
        if tgt in ("INTEGER", "BIGINT"):
            expr = f"CASE WHEN {expr} = floor({expr}) THEN TRY_CAST({expr} AS {tgt}) END"
        return Coercion(expr, True, "number")
    exact = src in _EXACT_INTEGERS or (src == "BIGINT" and tgt in ("BIGINT", "DOUBLE"))
    if exact or (src.startswith("DECIMAL") and tgt == "DOUBLE"):
        return Coercion(f"TRY_CAST({raw} AS {tgt})", False, "number")
    # HUGEINT/UBIGINT/DECIMAL into a narrower type, or text-like types (JSON, booleans)
    expr = _finite(f"TRY_CAST({raw} AS DOUBLE)") if tgt == "DOUBLE" else f"TRY_CAST({raw} AS {tgt})"
    return Coercion(expr, True, "number")


def _decimal_comma(db: duckdb.DuckDBPyConnection, relation: str, v: str) -> bool:
    """True when the column writes decimals with a comma (1.234,56) rather than a dot."""
    row = db.execute(
        f"WITH s AS (SELECT DISTINCT {v} AS v FROM {relation} WHERE {v} IS NOT NULL LIMIT 5000) "
        "SELECT count(*) FILTER (WHERE regexp_matches(v, '[0-9],[0-9]{1,2}([^0-9]|$)') "
        "  AND NOT regexp_matches(v, '[0-9]\\.[0-9]{1,2}([^0-9]|$)')), "
        "count(*) FILTER (WHERE regexp_matches(v, '[0-9]\\.[0-9]{1,2}([^0-9]|$)') "
        "  OR regexp_matches(v, '[0-9],[0-9]{3}([^0-9]|$)')) FROM s"
    ).fetchone()
    return bool(row and row[0] > row[1])
