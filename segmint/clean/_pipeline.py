"""Clean the canonical tables in place, in one transaction (M2 basics).

* e-mails trimmed, lower-cased and validated; phones to E.164; countries to ISO alpha-2;
  values that fail become NULL and are recorded with file, row, value and reason;
* exact duplicate rows removed (lineage columns ignored) and counted; order lines from a
  source without order ids are kept and reported instead (identical lines can be real
  repeat purchases there) unless ``drop_identical_lines``;
* duplicate customer ids collapsed to the most recently imported row, counted;
* customers seen only in orders are added to ``customers``;
* cancellations, refunds, returns and guest lines are counted, never dropped;
* quality gates stop the run (nothing changes) when a threshold is crossed.

Running clean twice changes nothing the second time. ``only_runs`` (``segmint update``) cleans
the rows those imports wrote: they are standardized, counted and checked against the gates
on their own, and deduplicated against every row (a new line identical to an old one goes;
only rows that share the new rows' first key column are hashed), so the cost grows with the
new rows, not with the history. The result is the table a full clean gives, because the
older rows were cleaned when they came.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from segmint.clean.standardize import (
    EMAIL_SQL,
    EMAIL_VALID_SQL,
    standardize_countries,
    standardize_phones,
)
from segmint.exceptions import QualityGateError
from segmint.ingest.finite import require_finite
from segmint.privacy import audit
from segmint.spec.gates import CHECK_GATES, QualityGates
from segmint.store import RunRecord, Store, quote
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["CleanResult", "clean"]

ISSUE_SAMPLE = 200
Progress = Callable[[str], None]


@dataclass
class CleanResult:
    run_id: str
    tables: dict[str, dict[str, Any]]
    checks: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def clean(
    store: Store,
    *,
    gates: QualityGates | None = None,
    default_region: str | None = None,
    drop_identical_lines: bool = False,
    progress: Progress | None = None,
    only_runs: list[str] | None = None,
) -> CleanResult:
    """Standardize and deduplicate every canonical table; raise QualityGateError on a gate.

    Order lines identical in every column are removed when their source has an order id.
    Without one (CDNOW: customer, day, quantity, amount) two identical lines may be two real
    purchases, so they are kept and reported (``tables["orders"]["identical_lines"]``)
    unless ``drop_identical_lines``.
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    gates = gates or QualityGates()
    db = store.db
    present = [t for t in CANONICAL if store.has_table(t)]
    if not present:
        from segmint.exceptions import WorkspaceError

        raise WorkspaceError(
            f"The workspace '{store.path}' holds no data yet, so there is nothing to clean.",
            fix="import a file first: segmint ingest orders.csv",
        )
    for table in present:
        require_finite(db, table, step="clean")
    run = RunRecord(
        kind="clean",
        spec={
            "gates": gates.model_dump(),
            "region": default_region,
            "drop_identical_lines": drop_identical_lines,
            "only_runs": only_runs,
        },
    )
    tables: dict[str, dict[str, Any]] = {}
    checks: list[dict[str, Any]] = []
    issues: list[list[Any]] = []
    with store.transaction():
        store.reserve_run(run)
        ctx = _Ctx(db, run.run_id, checks, issues, only_runs)
        if "orders" in present:
            say("Cleaning orders")
            tables["orders"] = _clean_orders(ctx, drop_identical_lines)
        if "orders" in present or "customers" in present:
            say("Cleaning customers")
            store.ensure("customers")
            tables["customers"] = _clean_customers(ctx, default_region, "orders" in present)
        for name in ("events", "feedback", "campaigns", "campaign_contacts"):
            if name in present:
                say(f"Cleaning {name}")
                tables[name] = _clean_other(ctx, name)
        _apply_gates(checks, gates, issues)
        for chk in checks:
            db.execute(
                "INSERT INTO quality_counts VALUES (?, ?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    chk["table"],
                    chk["column"],
                    chk["check"],
                    chk["n_bad"],
                    chk["n_checked"],
                ],
            )
        if issues:
            db.executemany("INSERT INTO quality_issues VALUES (?, ?, ?, ?, ?, ?, ?)", issues)
        run.row_counts = tables
        store.record_run(run)
        audit.record(
            db,
            "clean",
            target=run.run_id,
            detail={
                "rows": {t: c.get("rows") for t, c in tables.items()},
                "region": default_region,
                "drop_identical_lines": drop_identical_lines,
            },
        )
    return CleanResult(run.run_id, tables, checks, time.perf_counter() - t0)


@dataclass
class _Ctx:
    db: duckdb.DuckDBPyConnection
    run_id: str
    checks: list[dict[str, Any]]
    issues: list[list[Any]]
    #: clean only the rows these imports wrote (None: every row)
    only_runs: list[str] | None = None

    def scope(self, alias: str = "") -> str:
        """The SQL condition for the rows this clean works on (``TRUE``: all of them)."""
        if self.only_runs is None:
            return "TRUE"
        col = f"{alias}._run_id" if alias else "_run_id"
        return f"{col} IN ({', '.join(_lit(r) for r in self.only_runs) or 'NULL'})"

    def scoped(self) -> bool:
        return self.only_runs is not None

    def rows(self, table: str) -> int:
        """How many rows of ``table`` are in scope."""
        return int(self.one(f"SELECT count(*) FROM {quote(table)} WHERE {self.scope()}"))

    def one(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.db.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def check(self, table: str, column: str, check: str, bad: int, total: int) -> None:
        self.checks.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "n_bad": int(bad),
                "n_checked": int(total),
                "share": bad / total if total else 0.0,
            }
        )

    def sample_issues(
        self, table: str, column: str, where: str, reason: str, value: str | None = None
    ) -> None:
        """Record up to ISSUE_SAMPLE rows matching ``where`` with their source file and row."""
        val = value or f"CAST(t.{quote(column)} AS VARCHAR)"
        rows = self.db.execute(
            f"SELECT coalesce(r.source, t._run_id), t._row, {val} FROM {quote(table)} t "
            f"LEFT JOIN runs r ON r.run_id = t._run_id WHERE {where} "
            f"ORDER BY t._run_id, t._row LIMIT {ISSUE_SAMPLE}"
        ).fetchall()
        for src, row, v in rows:
            label = str(src).rsplit("/", 1)[-1] if src else None
            self.issues.append([self.run_id, table, label, row, column, v, reason])


def _data_columns(db: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    lineage = {c.name for c in LINEAGE}
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows if r[0] not in lineage]


def _dedup_exact(ctx: _Ctx, table: str) -> tuple[int, int]:
    """Remove rows identical in every data column; keep the first imported. Returns (before, removed)."""
    before, removed, _kept = _dedup(ctx, table, keep_runs=(), amount=None)
    return before, removed


def _dedup(
    ctx: _Ctx, table: str, *, keep_runs: tuple[str, ...], amount: str | None
) -> tuple[int, int, dict[str, Any] | None]:
    """Remove rows identical in every data column (lineage ignored), keeping the first imported.

    Groups that hold a row imported by one of ``keep_runs`` are kept whole and described
    instead: (extra rows, their ``amount`` sum, distinct customers). Returns (rows before,
    rows removed, that description or None).

    A 64-bit hash of each row finds the candidates in one cheap pass; only rows whose hash
    repeats are compared column by column, and only true duplicates are deleted (no rewrite
    of the table, so cleaning an already clean table costs one scan).
    """
    t = quote(table)
    data = _data_columns(ctx.db, table)
    cols = ", ".join(quote(c) for c in data)
    before = int(ctx.one(f"SELECT count(*) FROM {t}"))
    pre = _candidates(ctx, table, data)
    new = (
        f" AND hash({cols}) IN (SELECT hash({cols}) FROM {t} WHERE {ctx.scope()})"
        if ctx.scoped()
        else ""
    )
    ctx.db.execute(
        "CREATE OR REPLACE TEMP TABLE _segmint_dup_hash AS "
        f"SELECT hash({cols}) AS h FROM {t} WHERE {pre}{new} GROUP BY ALL HAVING count(*) > 1"
    )
    removed, kept = 0, None
    if int(ctx.one("SELECT count(*) FROM _segmint_dup_hash")):
        runs = ", ".join(_lit(r) for r in keep_runs) or "NULL"
        ctx.db.execute(
            "CREATE OR REPLACE TEMP TABLE _segmint_dups AS SELECT rid, rn, keep"
            + (", amount, customer_id" if amount else "")
            + f" FROM (SELECT rowid AS rid, row_number() OVER w AS rn, "
            f"bool_or(coalesce(_run_id IN ({runs}), false)) OVER w AS keep"
            + (f", {quote(amount)} AS amount, customer_id" if amount else "")
            + f" FROM {t} WHERE {pre} AND hash({cols}) IN (SELECT h FROM _segmint_dup_hash) "
            f"WINDOW w AS (PARTITION BY {cols} ORDER BY _run_id, _row "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) WHERE rn > 1"
        )
        _delete_rows(ctx, table, "SELECT rid FROM _segmint_dups WHERE NOT keep")
        removed = before - int(ctx.one(f"SELECT count(*) FROM {t}"))
        if keep_runs and amount:
            kept = _identical_lines(ctx)
        ctx.db.execute("DROP TABLE _segmint_dups")
    ctx.db.execute("DROP TABLE _segmint_dup_hash")
    ctx.check(table, "*", "duplicate_rows", removed, ctx.rows(table) + removed)
    return before, removed, kept


#: what DuckDB pins per 2,048-row vector that a transaction deletes rows from (its delete
#: versions: one 8-byte transaction id per row of the vector), until the commit
_DELETE_PIN_BYTES = 2048 * 8
_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
_UNITS |= {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _delete_rows(ctx: _Ctx, table: str, rids: str) -> None:
    """Delete the rows whose ``rowid`` the query ``rids`` returns, inside the clean's
    transaction.

    DuckDB keeps a deleted row's version in memory, pinned, until the transaction commits:
    16 KB for every 2,048-row vector that loses a row. Duplicates scattered over a big table
    touch most vectors (1.3M duplicate lines among 203M pinned 1.5 GB, which is DuckDB's
    whole cap here, and the clean failed with "Out of Memory"). When the vectors touched would
    pin more than a quarter of the cap, the table is written again without those rows
    instead (a new table with the same definition, then swapped in): a copy of the table,
    but memory that does not grow with it.
    """
    t = quote(table)
    touched = int(ctx.one(f"SELECT count(DISTINCT rid // 2048) FROM ({rids})"))
    if touched * _DELETE_PIN_BYTES <= _memory_cap(ctx.db) / 4:
        ctx.db.execute(f"DELETE FROM {t} WHERE rowid IN ({rids})")
        return
    ddl = str(
        ctx.one(
            "SELECT sql FROM duckdb_tables() WHERE schema_name = 'main' AND "
            "database_name = current_database() AND table_name = ?",
            [table],
        )
    )
    new = quote(f"_segmint_rewrite_{table}")
    ctx.db.execute(f"CREATE TABLE {new} {ddl[ddl.index('(') :]}")  # the same columns
    # insertion order is kept (DuckDB's default), so the rows keep their order
    ctx.db.execute(f"INSERT INTO {new} SELECT * FROM {t} WHERE rowid NOT IN ({rids})")
    ctx.db.execute(f"DROP TABLE {t}")
    ctx.db.execute(f"ALTER TABLE {new} RENAME TO {t}")


def _memory_cap(db: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory cap in bytes (``1.4 GiB`` as the setting reads)."""
    row = db.execute("SELECT current_setting('memory_limit')").fetchone()
    number, _, unit = str(row[0] if row else "").strip().partition(" ")
    try:
        return float(number) * _UNITS.get(unit.strip(), 1)
    except ValueError:
        return 1e9


#: the first column of these that a table has narrows the rows a scoped dedup hashes; a
#: timestamp first: on 20M order lines, matching 100k new times took 0.05 s, new order ids 2.4 s
_NARROW = (
    "ordered_at", "occurred_at", "answered_at", "sent_at", "signup_at",
    "customer_id", "order_id", "event_id", "anonymous_id", "campaign_id",
)  # fmt: skip


def _candidates(ctx: _Ctx, table: str, data: list[str]) -> str:
    """Rows that can be identical to a row in scope: the same value in the table's first
    :data:`_NARROW` column (or none in it); every row when the clean is not scoped."""
    if not ctx.scoped():
        return "TRUE"
    col = next((quote(c) for c in _NARROW if c in data), None)
    if col is None:
        return "TRUE"
    return (
        f"({col} IS NULL OR {col} IN (SELECT {col} FROM {quote(table)} WHERE {ctx.scope()} "
        f"AND {col} IS NOT NULL))"
    )


def _identical_lines(ctx: _Ctx) -> dict[str, Any] | None:
    """The repeated lines that were kept: how many, their revenue, how many customers."""
    row = ctx.db.execute(
        # summed as decimals: a float sum of 255 prices ends in …879999999985
        "SELECT count(*), sum(CAST(amount AS DECIMAL(38, 4))), count(DISTINCT customer_id) "
        "FROM _segmint_dups WHERE keep"
    ).fetchone()
    if not row or not row[0]:
        return None
    return {"rows": int(row[0]), "revenue": float(row[1] or 0.0), "customers": int(row[2])}


def _runs_without_order_id(ctx: _Ctx) -> tuple[str, ...]:
    """Imports into orders whose source had no order id (segmint derived one per day)."""
    rows = ctx.db.execute(
        "SELECT run_id FROM runs WHERE kind = 'ingest' "
        "AND json_extract_string(spec, '$.table') = 'orders' "
        "AND json_extract_string(spec, '$.mapping.order_id') IS NULL ORDER BY run_id"
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def _clean_emails(ctx: _Ctx, table: str) -> None:
    col = quote("email")
    lowered = EMAIL_SQL.format(col=col)
    valid = EMAIL_VALID_SQL.format(col=lowered)
    scope = ctx.scope()
    total = int(
        ctx.one(f"SELECT count({col}) FROM {quote(table)} WHERE trim({col}) <> '' AND {scope}")
    )
    bad = int(
        ctx.one(
            f"SELECT count(*) FROM {quote(table)} t WHERE trim({col}) <> '' "
            f"AND NOT coalesce({valid}, false) AND {ctx.scope('t')}"
        )
    )
    if bad:
        ctx.sample_issues(
            table,
            "email",
            f"trim(t.email) <> '' AND NOT coalesce("
            f"{EMAIL_VALID_SQL.format(col=EMAIL_SQL.format(col='t.email'))}, false) "
            f"AND {ctx.scope('t')}",
            "not a valid e-mail address (set to empty)",
        )
    ctx.db.execute(
        f"UPDATE {quote(table)} SET email = CASE WHEN coalesce({valid}, false) THEN {lowered} END "
        f"WHERE email IS NOT NULL AND email IS DISTINCT FROM (CASE WHEN coalesce({valid}, false) "
        f"THEN {lowered} END) AND {scope}"
    )
    ctx.check(table, "email", "email", bad, total)


def _apply_mapping(
    ctx: _Ctx,
    table: str,
    column: str,
    mapping: dict[Any, Any],
    check: str,
    key_cols: tuple[str, ...] = (),
) -> None:
    """Replace values of ``column`` through a Python-computed mapping of distinct values."""
    keys = (column, *key_cols)
    rows = []
    for raw, std in mapping.items():
        raw_t = raw if isinstance(raw, tuple) else (raw,)
        if raw_t[0] is None:
            continue
        rows.append([*raw_t, std.value, std.reason])
    total = int(ctx.one(f"SELECT count({quote(column)}) FROM {quote(table)} WHERE {ctx.scope()}"))
    if not rows:
        ctx.check(table, column, check, 0, total)
        return
    tmp = f"_segmint_map_{column}"
    defs = ", ".join(f"k{i} VARCHAR" for i in range(len(keys)))
    ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {tmp} ({defs}, value VARCHAR, reason VARCHAR)")
    ctx.db.executemany(f"INSERT INTO {tmp} VALUES ({', '.join('?' * (len(keys) + 2))})", rows)
    join = " AND ".join(f"t.{quote(k)} IS NOT DISTINCT FROM m.k{i}" for i, k in enumerate(keys))
    bad = int(
        ctx.one(
            f"SELECT count(*) FROM {quote(table)} t JOIN {tmp} m ON {join} "
            f"WHERE m.reason IS NOT NULL AND {ctx.scope('t')}"
        )
    )
    if bad:
        for reason in [
            r[0]
            for r in ctx.db.execute(
                f"SELECT DISTINCT reason FROM {tmp} WHERE reason IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]:
            ctx.sample_issues(
                table,
                column,
                f"EXISTS (SELECT 1 FROM {tmp} m WHERE {join} AND m.reason = {_lit(reason)}) "
                f"AND {ctx.scope('t')}",
                reason,
            )
    ctx.db.execute(
        f"UPDATE {quote(table)} t SET {quote(column)} = m.value FROM {tmp} m "
        f"WHERE {join} AND t.{quote(column)} IS DISTINCT FROM m.value AND {ctx.scope('t')}"
    )
    ctx.db.execute(f"DROP TABLE {tmp}")
    ctx.check(table, column, check, bad, total)


def _lit(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _clean_countries(ctx: _Ctx, table: str) -> None:
    values = [
        r[0]
        for r in ctx.db.execute(
            f"SELECT DISTINCT country FROM {quote(table)} WHERE country IS NOT NULL "
            f"AND {ctx.scope()}"
        ).fetchall()
    ]
    _apply_mapping(ctx, table, "country", dict(standardize_countries(values)), "country")


def _clean_orders(ctx: _Ctx, drop_identical_lines: bool) -> dict[str, Any]:
    no_id = _runs_without_order_id(ctx)
    before, dups, identical = _dedup(
        ctx, "orders", keep_runs=() if drop_identical_lines else no_id, amount="amount"
    )
    _clean_emails(ctx, "orders")
    _clean_countries(ctx, "orders")
    rows = before - dups
    scope = ctx.scope()
    guests = int(ctx.one(f"SELECT count(*) FROM orders WHERE customer_id IS NULL AND {scope}"))
    ctx.check("orders", "customer_id", "missing_customer_id", guests, ctx.rows("orders"))
    marked = ctx.db.execute(
        "SELECT count(*) FILTER (WHERE status = 'cancelled'), "
        "count(*) FILTER (WHERE status = 'refunded'), count(*) FILTER (WHERE returned), "
        "count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE customer_id IS NULL) "
        f"FROM orders WHERE {scope}"
    ).fetchone()
    assert marked is not None
    out: dict[str, Any] = {
        "rows_before": before,
        "rows": rows,
        "duplicates_removed": dups,
        "marked": {
            "cancelled": marked[0],
            "refunded": marked[1],
            "returned": marked[2],
            "pending": marked[3],
            "guest_lines": marked[4],
        },
        "outliers": _outliers(ctx, "orders", ("amount", "quantity", "unit_price")),
    }
    if identical:
        out["identical_lines"] = identical | {"kept": True}
    return out


def _clean_customers(ctx: _Ctx, default_region: str | None, from_orders: bool) -> dict[str, Any]:
    db = ctx.db
    before, dups = _dedup_exact(ctx, "customers")
    ids = (
        f"AND customer_id IN (SELECT customer_id FROM customers WHERE {ctx.scope()})"
        if ctx.scoped()
        else ""
    )
    by_id = int(
        ctx.one(
            "SELECT count(*) - count(DISTINCT customer_id) FROM customers "
            f"WHERE customer_id IS NOT NULL {ids}"
        )
    )
    if by_id:
        db.execute(
            "DELETE FROM customers WHERE rowid IN (SELECT rid FROM (SELECT rowid AS rid, "
            "row_number() OVER (PARTITION BY customer_id ORDER BY _run_id DESC, _row DESC) AS rn "
            "FROM customers WHERE customer_id IN (SELECT customer_id FROM customers "
            f"WHERE TRUE {ids} GROUP BY customer_id HAVING count(*) > 1)) WHERE rn > 1)"
        )
    _clean_emails(ctx, "customers")
    _clean_countries(ctx, "customers")
    pairs = db.execute(
        f"SELECT DISTINCT phone, country FROM customers WHERE phone IS NOT NULL AND {ctx.scope()}"
    ).fetchall()
    mapping = standardize_phones([(p, c) for p, c in pairs], default_region=default_region)
    _apply_mapping(ctx, "customers", "phone", dict(mapping), "phone", key_cols=("country",))
    added = _customers_from_orders(ctx) if from_orders else 0
    rows = int(ctx.one("SELECT count(*) FROM customers"))
    return {
        "rows_before": before,
        "rows": rows,
        "duplicates_removed": dups,
        "duplicate_ids_removed": by_id,
        "added_from_orders": added,
    }


def _customers_from_orders(ctx: _Ctx) -> int:
    """Add every customer id seen only in orders (e-mail and most frequent country from there).

    Returns how many were added. When orders carry no e-mail or no country at all, that
    aggregate is skipped (the value would be NULL anyway; ``mode`` over every line is costly).
    """
    scope = ctx.scope()
    has_email, has_country = ctx.db.execute(
        f"SELECT count(email) > 0, count(country) > 0 FROM orders WHERE {scope}"
    ).fetchone() or (True, True)
    email = "max(email)" if has_email else "NULL"
    country = "mode(country)" if has_country else "NULL"
    # group first, then look each customer up once (not each of their order lines)
    row = ctx.db.execute(
        "INSERT INTO customers (customer_id, email, country, _run_id, _row) "
        "SELECT customer_id, email, country, ?, NULL FROM (SELECT customer_id, "
        f"{email} AS email, {country} AS country FROM orders WHERE customer_id IS NOT NULL "
        f"AND {scope} GROUP BY customer_id) o WHERE NOT EXISTS "
        "(SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id) ORDER BY customer_id",
        [ctx.run_id],
    ).fetchone()
    return int(row[0]) if row else 0


def _clean_other(ctx: _Ctx, table: str) -> dict[str, Any]:
    before, dups = _dedup_exact(ctx, table)
    out: dict[str, Any] = {"rows_before": before, "rows": before - dups, "duplicates_removed": dups}
    key = CANONICAL[table].key
    if key:
        k, t = ", ".join(quote(c) for c in key), quote(table)
        # scoped: only keys a row in scope has can have gained a duplicate
        mine = (
            f"WHERE EXISTS (SELECT 1 FROM {t} s WHERE {ctx.scope('s')} AND "
            + " AND ".join(f"s.{quote(c)} IS NOT DISTINCT FROM x.{quote(c)}" for c in key)
            + ")"
            if ctx.scoped()
            else ""
        )
        n = int(ctx.one(f"SELECT count(*) - count(DISTINCT ({k})) FROM {t} x {mine}"))
        if n and ctx.scoped():
            ctx.db.execute(
                f"DELETE FROM {t} WHERE rowid IN (SELECT rid FROM (SELECT x.rowid AS rid, "
                f"row_number() OVER (PARTITION BY {k} ORDER BY _run_id DESC, _row DESC) AS rn "
                f"FROM {t} x {mine}) WHERE rn > 1)"
            )
        elif n:
            ctx.db.execute(
                f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM {t} "
                f"QUALIFY row_number() OVER (PARTITION BY {k} ORDER BY _run_id DESC, _row DESC) = 1"
            )
        out["duplicate_ids_removed"] = n
        out["rows"] = before - dups - n
    return out


def _quartiles(ctx: _Ctx, table: str, column: str) -> tuple[float, float] | None:
    """The exact 25 % and 75 % quantiles, as ``quantile_cont`` gives them, in bounded memory.

    ``quantile_cont`` holds every value of the column in memory at once (it ran out of the
    capped memory on 20M lines). This reads the sorted distinct values with their cumulative
    counts instead (a grouping and a sort, both of which can spill to disk) and interpolates
    between the same order statistics at (n − 1)·p as ``quantile_cont`` does (the result can
    differ from it in the last bit of the floating-point interpolation).
    """
    col, t = quote(column), quote(table)
    row = ctx.db.execute(
        f"WITH h AS (SELECT {col} AS v, count(*) AS c FROM {t} WHERE {col} IS NOT NULL "
        f"AND {ctx.scope()} GROUP BY 1), s AS (SELECT v, sum(c) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) AS upto "
        "FROM h), n AS (SELECT max(upto) - 1 AS last FROM s), "
        "k AS (SELECT last * p AS x, floor(last * p) AS lo, ceil(last * p) AS hi, p FROM n, "
        "(VALUES (0.25), (0.75)) q(p)) "
        "SELECT k.p, k.x - k.lo, (SELECT min(v) FROM s WHERE upto > k.lo), "
        "(SELECT min(v) FROM s WHERE upto > k.hi) FROM k ORDER BY k.p"
    ).fetchall()
    if len(row) != 2 or row[0][2] is None:
        return None
    q1, q3 = (float(lo) + float(d) * (float(hi) - float(lo)) for _p, d, lo, hi in row)
    return q1, q3


def _outliers(ctx: _Ctx, table: str, columns: tuple[str, ...]) -> dict[str, Any]:
    """Values beyond 3 IQR from the quartiles (reported, never removed).

    The quartiles are exact (see :func:`_quartiles`); one scan then counts the values beyond
    the fences of every column.
    """
    t = quote(table)
    fences: dict[str, tuple[float, float]] = {}
    for c in columns:
        q = _quartiles(ctx, table, c)
        if q is not None:
            iqr = q[1] - q[0]
            fences[c] = (q[0] - 3 * iqr, q[1] + 3 * iqr)
    if not fences:
        return {}
    counts = ", ".join(f"count(*) FILTER (WHERE {quote(c)} < ? OR {quote(c)} > ?)" for c in fences)
    params = [v for pair in fences.values() for v in pair]
    found = ctx.db.execute(f"SELECT {counts} FROM {t} WHERE {ctx.scope()}", params).fetchone()
    out: dict[str, Any] = {}
    for (c, (low, high)), n in zip(fences.items(), found or (), strict=True):
        if n:
            out[c] = {
                "count": int(n),
                "low": round(low, 4),
                "high": round(high, 4),
                "method": "beyond 3 IQR from the quartiles",
            }
    return out


def _apply_gates(
    checks: list[dict[str, Any]], gates: QualityGates, issues: list[list[Any]]
) -> None:
    failed = []
    for chk in checks:
        gate = CHECK_GATES.get(chk["check"])
        if gate is None:
            continue
        limit = getattr(gates, gate)
        if chk["n_bad"] and chk["share"] > limit:
            failed.append(
                f"{chk['table']}.{chk['column']}: {chk['n_bad']:,} of "
                f"{chk['n_checked']:,} ({chk['share']:.1%}) fail the {chk['check']} "
                f"check; {gate} allows {limit:.0%}"
            )
    if failed:
        examples = [f"{i[2]} row {i[3]}: {i[5]!r} ({i[6]})" for i in issues[:3]]
        raise QualityGateError(
            "Cleaning stopped because data quality is below the gates, so nothing was changed: "
            + "; ".join(failed)
            + (f". Examples: {'; '.join(examples)}." if examples else "."),
            fix="correct the source data and import it again, or relax the gate with "
            "--max-invalid CHECK=SHARE (or quality: in the spec) if this is expected.",
        )
