"""Guards for the steps after import: no infinite number and no implausible time gets through.

Import counts inf/NaN numbers and out-of-range times as invalid (see :mod:`segmint.ingest.coerce`),
so these checks find something only in a workspace filled before that rule, or written to by
hand. They run before ``clean`` and ``features`` write anything, and name the table, column and
source rows, because otherwise the first sign is a scikit-learn traceback about NaN in a
model fit, far from the value that caused it.
"""

from __future__ import annotations

import duckdb

from segmint.exceptions import InputError

__all__ = ["require_finite"]

_FLOATS = ("DOUBLE", "FLOAT", "REAL")


def _float_columns(db: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema() AND data_type IN ('DOUBLE', 'FLOAT', 'REAL')",
        [table],
    ).fetchall()
    return [str(r[0]) for r in rows]


def require_finite(
    db: duckdb.DuckDBPyConnection,
    table: str,
    *,
    step: str,
    key: str | None = None,
    nan: bool = True,
    runs: list[str] | None = None,
) -> None:
    """Raise :class:`InputError` when a float column of ``table`` holds inf or -inf (or NaN).

    ``key`` names a column shown for the first such rows (default ``_row``, the source row);
    ``step`` is the command that refused (``clean``, ``features``). ``nan=False`` lets NaN
    pass (a computed feature may be undefined; the segmenters impute missing values).
    ``runs``: check only the rows these runs wrote (the others were checked before).
    """
    cols = _float_columns(db, table)
    if not cols:
        return
    q = _q(table)
    test = "NOT isfinite({})" if nan else "isinf({})"
    aggs = ", ".join(f"count(*) FILTER (WHERE {test.format(_q(c))})" for c in cols)
    only = ""
    if runs is not None:
        only = " WHERE _run_id IN (" + ", ".join("'" + r.replace("'", "''") + "'" for r in runs)
        only += ")" if runs else "NULL)"
    row = db.execute(f"SELECT {aggs} FROM {q}{only}").fetchall()[0]
    bad = [(c, int(n)) for c, n in zip(cols, row or (), strict=True) if n]
    if not bad:
        return
    col, n = bad[0]
    show = key or "_row"
    has_key = show in {c[0] for c in db.execute(f"DESCRIBE {q}").fetchall()}
    examples = ""
    if has_key:
        ex = db.execute(
            f"SELECT {_q(show)}, {_q(col)} FROM {q} WHERE {test.format(_q(col))} LIMIT 3"
        ).fetchall()
        label = "source row" if show == "_row" else show
        examples = " (" + "; ".join(f"{label} {k}: {v}" for k, v in ex) + ")"
    others = "".join(f", {c} ({m:,})" for c, m in bad[1:])
    raise InputError(
        f"{table}.{col} holds {n:,} value(s) that are not finite numbers (inf or NaN)"
        f"{examples}{'; also ' + others[2:] if others else ''}. segmint {step} stopped before "
        "writing anything: such a value turns every sum, average and model fit it reaches "
        "into inf/NaN.",
        where=f"table {table}, column {col}",
        fix="import the source again with --replace: segmint now counts inf, NaN and numbers "
        "too large for a double as invalid values (they are listed by segmint quality).",
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
