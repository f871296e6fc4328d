"""Import one source into its canonical table, all rows or none.

sniff → stage (temp) → map columns → build typed SQL → count unreadable values → gates →
one transaction: create/extend the table, INSERT … SELECT, issues, run record.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from segmint.exceptions import MappingError, QualityGateError, SegmintError, WorkspaceError
from segmint.ingest.coerce import Coercion, coerce, lit, role_of
from segmint.ingest.extras import drop_typed, infer_types, stage_typed, typed_coercion
from segmint.ingest.inflation import check_inflation
from segmint.ingest.limits import EXTRA_BATCH, NAME_CHARS, excerpt
from segmint.ingest.mapping import ASSUMED_NOTE, ROW_ID_NOTE, ColumnMapping, resolve
from segmint.ingest.problems import add_reader_problems
from segmint.ingest.readers import STAGE, ReadOptions, Staged, stage
from segmint.ingest.sniff import Source, sniff
from segmint.privacy import audit
from segmint.privacy.consent import record_imported
from segmint.privacy.suppress import suppressed_sql
from segmint.spec.gates import CHECK_GATES, QualityGates
from segmint.store import RunRecord, Store, quote
from segmint.store.schema import CANONICAL

__all__ = ["IngestResult", "imported_before", "ingest"]

NOT_FINITE = "not a finite number (inf, NaN, or beyond ±1.8e308)"
#: the typed rows of an import when some may belong to erased people (a temp table)
INCOMING = "_segmint_incoming"
ISSUE_SAMPLE = 200  # unreadable values kept per column (all are counted)
ID_COLUMNS = {"customer_id", "order_id", "product_id", "campaign_id", "anonymous_id"}

Progress = Callable[[str], None]


@dataclass
class IngestResult:
    run_id: str
    table: str
    source: str
    format: str
    rows: int
    mapped: dict[str, str]
    extras: dict[str, str]
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: True when the same file was imported before and ``if_imported="skip"`` left it alone
    skipped: bool = False
    #: rows left out because they belong to people erased before (suppression list)
    suppressed: int = 0
    #: what segmint assumed about who the rows are (row numbers as ids, rows read as
    #: customers): every report that counts customers repeats these
    assumptions: list[str] = field(default_factory=list)

    @property
    def bad_values(self) -> int:
        return sum(int(c["n_bad"]) for c in self.checks)


def ingest(
    store: Store,
    location: str | os.PathLike[str],
    *,
    entity: str | None = None,
    fmt: str = "auto",
    mapping: dict[str, str] | None = None,
    options: ReadOptions | None = None,
    timezone: str | None = None,
    date_format: str | None = None,
    gates: QualityGates | None = None,
    replace: bool = False,
    if_imported: str = "error",
    progress: Progress | None = None,
) -> IngestResult:
    """Import ``location`` into the workspace; raises a :class:`SegmintError` on bad input.

    A file imported before (same fingerprint) is refused, or with ``if_imported="skip"``
    left alone (the result says ``skipped``); ``replace=True`` replaces the table instead.
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    options = options or ReadOptions()
    gates = gates or QualityGates()
    location = str(location)
    say("Sniffing the source")
    src = sniff(location, encoding=options.encoding, delimiter=options.delimiter)
    if src.kind not in ("sqlite", "postgres"):
        # the ratio only: the server caps the size of what it accepts (--max-inflated-mb)
        check_inflation(Path(src.location), src.kind, src.compression, max_bytes=None)
    fingerprint = _fingerprint(src)
    if src.size:
        # Staging and the table itself need about the file's size again (DuckDB compresses
        # well, but temp spill can reach it); keep 16 MB headroom for the WAL.
        store.check_free_space(int(src.size * 1.5) + (16 << 20), f"'{src.label}'")
    previous = None if replace else _previous_import(store, fingerprint, src, entity)
    if previous is not None:
        if if_imported == "skip":
            return IngestResult(
                run_id=previous[0],
                table=previous[2],
                source=src.label,
                format=previous[3],
                rows=0,
                mapped={},
                extras={},
                skipped=True,
                notes=[f"already imported into {previous[2]} by run {previous[0]}; skipped"],
            )
        raise SegmintError(
            f"This file was already imported into {previous[2]} by run {previous[0]} "
            f"(from {previous[1]}); importing it again would double its rows.",
            where=src.label,
            fix="import a different file, or pass --replace to replace the table's contents "
            "with this file.",
        )
    db = store.db
    try:
        say(f"Reading {src.label}")
        staged = stage(db, src, options)
        say("Mapping columns")
        if options.header is False:
            mapping = _by_position(mapping, list(staged.columns), src.label)
        cmap = resolve(
            list(staged.columns),
            entity=entity,
            fmt_name=fmt,
            explicit=mapping,
            where=src.label,
            cardinality=lambda col: _cardinality(db, staged, col),
        )
        tz = timezone or cmap.fmt.timezone or "UTC"
        staged = _apply_raw_transforms(db, staged, cmap)
        say("Checking types")
        plan = _plan(db, staged, cmap, tz, date_format)
        checks = _count_failures(db, staged, plan, cmap, src)
        _apply_gates(db, staged, plan, checks, gates, src)
        say(f"Writing {staged.rows:,} rows to {cmap.entity}")
        result = _write(
            store, staged, cmap, plan, checks, src, fingerprint, replace, tz, date_format
        )
    except duckdb.BinderException as exc:
        # A format's derivation refers to a column this file does not have.
        missing = re.search(r'column "([^"]+)" not found', str(exc))
        name = excerpt(missing.group(1), NAME_CHARS) if missing else "a column it expects"
        raise MappingError(
            f"The {fmt_label(fmt, entity)} layout needs a column '{name}', which this file "
            "does not have, so nothing was imported.",
            where=src.label,
            fix="check that the file is that export (segmint formats lists what each layout "
            "expects), or import it with --format generic and --map canonical=Header.",
        ) from None
    except duckdb.IOException as exc:
        raise WorkspaceError(
            f"Writing to the workspace failed: {str(exc).splitlines()[0]}. Nothing was imported.",
            fix="check free disk space and permissions of the workspace folder.",
        ) from None
    finally:
        db.execute(f"DROP TABLE IF EXISTS {STAGE}")
        db.execute(f"DROP TABLE IF EXISTS {STAGE}_t")
        drop_typed(db)
    result.notes = staged.notes + [n for n in plan.notes]
    result.assumptions = [
        f"{src.label}: {note}"
        for note, on in ((ASSUMED_NOTE, cmap.assumed), (ROW_ID_NOTE, cmap.row_ids))
        if on
    ]
    result.seconds = time.perf_counter() - t0
    return result


def _cardinality(db: duckdb.DuckDBPyConnection, staged: Staged, col: str) -> tuple[int, int]:
    """(distinct, non-empty) values of a raw column: is it plausible as an id?"""
    v = _nonblank(quote(col))
    row = db.execute(
        f"SELECT count(DISTINCT {quote(col)}) FILTER ({v}), count(*) FILTER ({v}) "
        f"FROM {staged.relation}"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _by_position(
    mapping: dict[str, str] | None, columns: list[str], where: str
) -> dict[str, str] | None:
    """Explicit mappings to a column number (``customer_id=2``) of a file without header."""
    if not mapping:
        return mapping
    out = {}
    for name, col in mapping.items():
        if col.strip().isdigit() and col.strip() not in columns:
            pos = int(col)
            if not 1 <= pos <= len(columns):
                raise MappingError(
                    f"--map {name}={col} refers to field {pos}, but the rows have "
                    f"{len(columns)} fields.",
                    where=where,
                    fix=f"use a position from 1 to {len(columns)}, or a name from --columns.",
                )
            col = columns[pos - 1]
        out[name] = col
    return out


@dataclass
class _Plan:
    inner: dict[str, str]  # output name -> typed SQL over raw columns
    coercions: dict[str, tuple[str, Coercion]]  # name -> (raw column, coercion)
    extra_types: dict[str, str]
    outer: dict[str, str]  # canonical column -> SQL over inner names
    notes: list[str]
    #: id columns segmint made up, with how (the quality report says so next to them)
    generated: dict[str, str] = field(default_factory=dict)
    #: temp tables of typed extra attributes, joined on _row (a wide file's, in batches)
    joins: list[str] = field(default_factory=list)


def _plan(
    db: duckdb.DuckDBPyConnection,
    staged: Staged,
    cmap: ColumnMapping,
    tz: str,
    date_format: str | None,
) -> _Plan:
    schema = CANONICAL[cmap.entity]
    fmt = cmap.fmt
    rel = staged.relation
    inner: dict[str, str] = {}
    coercions: dict[str, tuple[str, Coercion]] = {}
    notes: list[str] = []
    for name, col in cmap.columns.items():
        target = schema.column(name).dtype if name in schema.names else fmt.aux[name].dtype
        c = coerce(
            db,
            rel,
            quote(col),
            staged.columns[col],
            target,
            role=role_of(name, ID_COLUMNS),
            date_format=date_format,
            timezone=tz,
            text_source=staged.text,
        )
        inner[name] = c.expr
        coercions[name] = (col, c)
        if c.note:
            notes.append(f"{cmap.entity}.{name} ('{col}'): {c.note}")
    extra_types = infer_types(db, staged, cmap.extras)
    typed: dict[str, str] = {}
    for col, name in cmap.extras.items():
        c = typed_coercion(db, staged, col, extra_types[name])
        typed[name] = c.expr
        if c.can_fail:  # inf/NaN in a column of numbers: counted like any unreadable value
            coercions[name] = (col, c)
    inline, joins = stage_typed(db, staged, typed)
    inner.update(inline)
    outer: dict[str, str] = {}
    generated: dict[str, str] = {}
    if cmap.assumed:
        notes.append(f"{cmap.entity}: {ASSUMED_NOTE}.")
    if cmap.row_ids:
        outer["customer_id"] = "CAST(_row AS VARCHAR)"
        generated["customer_id"] = "row number in the file"
        notes.append(f"{cmap.entity}.customer_id: {ROW_ID_NOTE}.")
    for column in schema.columns:
        n = column.name
        if n in outer:
            continue
        if n in fmt.override:
            outer[n] = fmt.override[n]
        elif n in inner:
            outer[n] = quote(n)
        elif n in fmt.derive:
            outer[n] = fmt.derive[n]
        elif n in _GENERIC_DERIVE.get(cmap.entity, {}):
            outer[n] = _GENERIC_DERIVE[cmap.entity][n](set(inner))
            if n in _GENERATED.get(cmap.entity, {}):
                generated[n] = _GENERATED[cmap.entity][n]
        else:
            outer[n] = f"CAST(NULL AS {column.dtype})"
    if cmap.entity == "orders" and "status" in inner and "status" not in fmt.override:
        outer["status"] = _STATUS_NORMALIZE
    for n in schema.names:  # make every canonical name available to derivations
        inner.setdefault(n, f"CAST(NULL AS {schema.column(n).dtype})")
    for n, aux in fmt.aux.items():
        inner.setdefault(n, f"CAST(NULL AS {aux.dtype})")
    return _Plan(inner, coercions, extra_types, outer, notes, generated, joins)


_STATUS_NORMALIZE = (
    "CASE WHEN status IN ('paid', 'pending', 'refunded', 'cancelled') THEN status "
    "WHEN status IS NULL THEN (CASE WHEN amount < 0 THEN 'refunded' ELSE 'paid' END) "
    "WHEN lower(status) IN ('paid', 'complete', 'completed', 'succeeded', 'success', "
    "'fulfilled', 'shipped', 'delivered', 'closed', 'captured', 'partially_refunded', "
    "'partially refunded', 'partially_paid') THEN 'paid' "
    "WHEN lower(status) IN ('refunded', 'refund', 'returned', 'chargeback', 'disputed') "
    "THEN 'refunded' "
    "WHEN lower(status) IN ('cancelled', 'canceled', 'voided', 'void', 'failed', 'declined', "
    "'expired', 'abandoned') THEN 'cancelled' "
    "WHEN lower(status) IN ('pending', 'authorized', 'processing', 'open', 'unpaid', "
    "'on-hold', 'on hold') THEN 'pending' ELSE lower(status) END"
)


def _order_id(have: set[str]) -> str:
    return "coalesce(customer_id, email, '?') || '|' || strftime(ordered_at, '%Y-%m-%dT%H:%M:%S')"


_GENERIC_DERIVE: dict[str, dict[str, Callable[[set[str]], str]]] = {
    "orders": {
        "amount": lambda have: (
            "quantity * unit_price - coalesce(discount, 0)"
            if "quantity" in have
            else "unit_price - coalesce(discount, 0)"
        ),
        "order_id": _order_id,
        "customer_id": lambda have: "lower(email)" if "email" in have else "CAST(NULL AS VARCHAR)",
        "status": lambda have: "CASE WHEN amount < 0 THEN 'refunded' ELSE 'paid' END",
        "returned": lambda have: "coalesce(quantity < 0, false)",
    },
    "customers": {
        "customer_id": lambda have: "lower(email)",
    },
}


#: how a derived id is made, in a marketer's words (see _order_id)
_GENERATED = {"orders": {"order_id": "customer × order date/time"}}


def _apply_raw_transforms(
    db: duckdb.DuckDBPyConnection, staged: Staged, cmap: ColumnMapping
) -> Staged:
    """Format-specific raw rewrites (fill-down of order fields, nested JSON), materialized once."""
    fmt = cmap.fmt
    replaced: dict[str, str] = {}
    for name, col in cmap.columns.items():
        if name in fmt.raw:
            replaced[col] = fmt.raw[name](quote(col), staged.columns[col])
    if fmt.fill_down and fmt.fill_key in cmap.columns:
        key = quote(cmap.columns[str(fmt.fill_key)])
        for name in fmt.fill_down:
            fcol = cmap.columns.get(name)
            if fcol is None:
                continue
            e = replaced.get(fcol, quote(fcol))
            v = f"nullif(trim(CAST({e} AS VARCHAR)), '')"
            replaced[fcol] = (
                f"coalesce({v}, first_value({v} IGNORE NULLS) OVER (PARTITION BY {key} "
                "ORDER BY _row ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))"
            )
    keep = _row_filter(staged, cmap)
    if not replaced and not keep:
        return staged
    cols = ", ".join(
        f"{replaced[c]} AS {quote(c)}" if c in replaced else quote(c) for c in staged.columns
    )
    db.execute(f"DROP TABLE IF EXISTS {STAGE}_t")
    db.execute(
        f"CREATE TEMP TABLE {STAGE}_t AS SELECT _row, {cols} FROM {staged.relation}{keep} "
        "ORDER BY _row"
    )
    columns = {c: ("VARCHAR" if c in replaced else t) for c, t in staged.columns.items()}
    rows, notes = staged.rows, staged.notes
    if keep:
        row = db.execute(f"SELECT count(*) FROM {STAGE}_t").fetchone()
        rows = int(row[0]) if row else 0
        if rows < staged.rows:
            notes = [
                *notes,
                f"{staged.rows - rows:,} of {staged.rows:,} rows skipped: the {fmt.name} format "
                f"imports only rows where {fmt.row_filter}.",
            ]
    return Staged(f"{STAGE}_t", columns, rows, staged.text, notes, staged.problems)


def _row_filter(staged: Staged, cmap: ColumnMapping) -> str:
    """A WHERE clause for the format's row_filter (canonical/aux names bound to raw values)."""
    fmt = cmap.fmt
    if not fmt.row_filter:
        return ""
    names = [*CANONICAL[cmap.entity].names, *fmt.aux]
    binds = ", ".join(
        f"{quote(cmap.columns[n])} AS {quote(n)}" if n in cmap.columns else f"NULL AS {quote(n)}"
        for n in dict.fromkeys(names)
    )
    return (
        f" WHERE _row IN (SELECT _row FROM (SELECT _row, {binds} FROM {staged.relation}) "
        f"WHERE {fmt.row_filter})"
    )


def _nonblank(raw: str, dtype: str = "VARCHAR") -> str:
    """SQL: the raw value is there (not NULL, and for text not blank). Only text can be blank;
    a typed value (Parquet, SQL) is not formatted as text to find out (that costs more than
    the whole check on a number or time column)."""
    if dtype.upper() not in ("VARCHAR", "JSON", "BLOB"):
        return f"({raw} IS NOT NULL)"
    return f"({raw} IS NOT NULL AND trim(CAST({raw} AS VARCHAR)) <> '')"


def _count_failures(
    db: duckdb.DuckDBPyConnection, staged: Staged, plan: _Plan, cmap: ColumnMapping, src: Source
) -> list[dict[str, Any]]:
    checks = _coercion_failures(db, staged, plan, cmap, src)
    names = {**{col: n for n, col in cmap.columns.items()}, **cmap.extras}
    return add_reader_problems(
        checks, staged.problems, names, table=cmap.entity, source=src.label, rows=staged.rows
    )


def _coercion_failures(
    db: duckdb.DuckDBPyConnection, staged: Staged, plan: _Plan, cmap: ColumnMapping, src: Source
) -> list[dict[str, Any]]:
    checked = [(n, col, c) for n, (col, c) in plan.coercions.items() if c.can_fail]
    if not checked:
        return []
    row: list[Any] = []
    for start in range(0, len(checked), EXTRA_BATCH):  # a wide file: a batch per statement
        aggs = []
        for _n, col, c in checked[start : start + EXTRA_BATCH]:
            there = _nonblank(quote(col), staged.columns[col])
            aggs.append(f"count(*) FILTER (WHERE {there} AND ({c.expr}) IS NULL)")
            aggs.append(f"count(*) FILTER (WHERE {there})")
        part = db.execute(f"SELECT {', '.join(aggs)} FROM {staged.relation}").fetchone()
        assert part is not None
        row += part
    checks = []
    for i, (n, col, c) in enumerate(checked):
        bad, total = int(row[2 * i]), int(row[2 * i + 1])
        checks.append(
            {
                "table": cmap.entity,
                "column": n,
                "source_column": col,
                "check": c.check,
                "n_bad": bad,
                "n_checked": total,
                "share": bad / total if total else 0.0,
                "source": src.label,
                "reason": _reason(c, "the expected type"),
            }
        )
    return checks


def _bad_samples(
    db: duckdb.DuckDBPyConnection, staged: Staged, plan: _Plan, name: str, limit: int
) -> list[tuple[int, str]]:
    col, c = plan.coercions[name]
    raw = quote(col)
    return [
        (int(r[0]), str(r[1]))
        for r in db.execute(
            f"SELECT _row, CAST({raw} AS VARCHAR) FROM {staged.relation} "
            f"WHERE {_nonblank(raw, staged.columns[col])} AND ({c.expr}) IS NULL "
            f"ORDER BY _row LIMIT {limit}"
        ).fetchall()
    ]


def _issue_rows(
    db: duckdb.DuckDBPyConnection, staged: Staged, plan: _Plan, chk: dict[str, Any], limit: int
) -> list[tuple[int, str, str]]:
    """(row, value, reason) of a check's first bad values: unreadable ones and reader problems."""
    name = chk["column"]
    prob = staged.problems.get(chk["source_column"])
    out = list(prob.samples) if prob else []
    if name in plan.coercions:
        _col, c = plan.coercions[name]
        schema = CANONICAL[chk["table"]]
        target = schema.column(name).dtype if name in schema.names else "value"
        reason = _reason(c, target) + f" (column '{chk['source_column']}')"
        out += [
            (r, v, _value_reason(c, v, reason))
            for r, v in _bad_samples(db, staged, plan, name, limit)
        ]
    return sorted(out)[:limit]


def _value_reason(c: Coercion, value: str, reason: str) -> str:
    """The reason for one value: a number that reads as inf or NaN says so."""
    if c.check != "number":
        return reason
    try:
        number = float(value.strip())
    except ValueError:
        return reason
    return reason if math.isfinite(number) else reason.replace("not a number", NOT_FINITE, 1)


_REASONS = {
    "date": "not a date/time",
    "number": "not a number",
    "boolean": "not yes/no",
    "json": "not valid JSON",
    "value": "not readable as {dtype}",
}


def _reason(c: Coercion, target: str) -> str:
    return c.reason or _REASONS.get(c.check, "unreadable").format(dtype=target)


def _apply_gates(
    db: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: _Plan,
    checks: list[dict[str, Any]],
    gates: QualityGates,
    src: Source,
) -> None:
    failed = []
    for chk in checks:
        gate = CHECK_GATES.get(chk["check"], "max_invalid_values")
        limit = getattr(gates, gate)
        if chk["n_bad"] and chk["share"] > limit:
            failed.append((chk, gate, limit))
    if not failed:
        return
    parts = []
    for chk, gate, limit in failed:
        examples = _issue_rows(db, staged, plan, chk, 3)
        shown = "; ".join(f"row {r}: {excerpt(v)!r}" for r, v, _why in examples)
        parts.append(
            f"column '{chk['source_column']}' ({chk['table']}.{chk['column']}): "
            f"{chk['n_bad']:,} of {chk['n_checked']:,} values ({chk['share']:.1%}) are "
            f"{chk['reason']} (for example {shown}); the gate {gate} allows {limit:.0%}"
        )
    first = failed[0][0]
    prob = staged.problems.get(first["source_column"])
    raise QualityGateError(
        "Too many values could not be read, so nothing was imported: " + "; ".join(parts) + ".",
        where=src.label,
        fix=_gate_fix(first, prob.fix if prob else ""),
    )


def _gate_fix(first: dict[str, Any], reader_fix: str) -> str:
    kind = "value" if first["check"] == "formula" else first["check"]  # the CLI's gate names
    more = f"allow more with --max-invalid {kind}=0.5 if these values are expected."
    if reader_fix:
        return f"{reader_fix}; or {more}"
    return (
        "check that the right column is mapped (--map "
        f"{first['column']}='Other Header')"
        + (", or give the format with --date-format '%d/%m/%Y'" if first["check"] == "date" else "")
        + f", or {more}"
    )


def _write(
    store: Store,
    staged: Staged,
    cmap: ColumnMapping,
    plan: _Plan,
    checks: list[dict[str, Any]],
    src: Source,
    fingerprint: str,
    replace: bool,
    tz: str,
    date_format: str | None,
) -> IngestResult:
    db = store.db
    schema = CANONICAL[cmap.entity]
    table = schema.name
    run = RunRecord(
        kind="ingest",
        source=str(Path(src.location).resolve()) if src.size else _safe(src.location),
        fingerprint=fingerprint,
        spec={
            "table": table,
            "format": cmap.fmt.family,
            "mapping": cmap.columns,
            "generated": plan.generated,
            "explicit_mapping": cmap.explicit,
            "timezone": tz,
            "date_format": date_format,
            "replace": replace,
            "kind": src.kind,
            "encoding": src.encoding,
        },
    )
    with store.transaction():
        store.reserve_run(run)
        store.ensure(schema.name)
        existing = store.columns(table)
        new_cols = {}
        extra_out: dict[str, str] = {}
        for name in cmap.extras.values():
            t = plan.extra_types[name]
            if name not in existing:
                new_cols[name] = t
                extra_out[name] = quote(name)
            elif existing[name].upper() != t.upper():
                # keep the existing column's type; values that do not fit become text
                if existing[name].upper() != "VARCHAR":
                    db.execute(f"ALTER TABLE {quote(table)} ALTER {quote(name)} TYPE VARCHAR")
                extra_out[name] = f"CAST({quote(name)} AS VARCHAR)"
            else:
                extra_out[name] = quote(name)
        # a canonical column added since the table was made (consent_profiling)
        new_cols |= {n: schema.column(n).dtype for n in plan.outer if n not in existing}
        store.add_columns(table, new_cols)
        if replace:
            db.execute(f"DELETE FROM {quote(table)}")
        inner = ", ".join(f"{e} AS {quote(n)}" for n, e in plan.inner.items())
        cols = [*plan.outer, *extra_out, "_run_id", "_row"]
        exprs = [*plan.outer.values(), *extra_out.values(), lit(run.run_id), "_row"]
        select = (
            f"SELECT {', '.join(f'{e} AS {quote(c)}' for c, e in zip(cols, exprs, strict=True))} "
            f"FROM (SELECT {inner}, _row FROM {staged.relation})"
            + "".join(f" JOIN {t} USING (_row)" for t in plan.joins)
        )
        into = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in cols)}) "
        suppressed = suppressed_sql(store, INCOMING, set(cols))
        if suppressed is None:
            db.execute(into + select)
            written = staged.rows
        else:  # erased people's rows never reach the table (a temp table is not in the file)
            db.execute(f"CREATE OR REPLACE TEMP TABLE {INCOMING} AS {select}")
            inserted = db.execute(
                f"{into} SELECT * FROM {INCOMING} WHERE NOT ({suppressed})"
            ).fetchone()
            written = int(inserted[0]) if inserted else 0
            db.execute(f"DROP TABLE {INCOMING}")
        for chk in checks:
            db.execute(
                "INSERT INTO quality_counts VALUES (?, ?, ?, ?, ?, ?)",
                [run.run_id, table, chk["column"], chk["check"], chk["n_bad"], chk["n_checked"]],
            )
            if chk["n_bad"]:
                rows = _issue_rows(db, staged, plan, chk, ISSUE_SAMPLE)
                db.executemany(
                    "INSERT INTO quality_issues VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        [run.run_id, table, src.label, r, chk["column"], v, why]
                        for r, v, why in rows
                    ],
                )
        if src.repaired is not None:
            _record_repaired(db, run.run_id, table, src, staged.rows)
        run.row_counts = {
            "read": staged.rows,
            "written": written,
            "bad_values": sum(c["n_bad"] for c in checks),
        }
        if written < staged.rows:
            run.row_counts["suppressed"] = staged.rows - written
            plan.notes.append(
                f"{staged.rows - written:,} rows left out: they belong to people erased "
                "before (suppression list; docs/privacy.md)"
            )
        if table == "customers":
            given = {n for n, e in plan.outer.items() if not e.startswith("CAST(NULL ")}
            run.row_counts["consent_events"] = record_imported(db, run.run_id, src.label, given)
        run.message = "; ".join(plan.notes + staged.notes) or None
        store.record_run(run)
        audit.record(
            db,
            "ingest",
            target=run.run_id,
            detail={
                "table": table,
                "rows": staged.rows,
                "format": cmap.fmt.family,
                "kind": src.kind,
                "replace": replace,
            },
        )
    return IngestResult(
        run_id=run.run_id,
        table=table,
        source=src.label,
        format=cmap.fmt.name,
        rows=written,
        suppressed=staged.rows - written,
        mapped=dict(cmap.columns),
        extras=plan.extra_types,
        checks=checks,
    )


def _record_repaired(
    db: duckdb.DuckDBPyConnection, run_id: str, table: str, src: Source, rows: int
) -> None:
    """The rows of a mixed-encoding file read as Windows-1252: counted, the first listed."""
    found = src.repaired
    assert found is not None
    db.execute(
        "INSERT INTO quality_counts VALUES (?, ?, '*', 'encoding', ?, ?)",
        [run_id, table, found.count, rows],
    )
    db.executemany(
        "INSERT INTO quality_issues VALUES (?, ?, ?, ?, '*', ?, ?)",
        [
            [
                run_id,
                table,
                src.label,
                row,
                excerpt(text),
                f"line {line} is not UTF-8: read as Windows-1252",
            ]
            for line, row, text in found.sample
        ],
    )


def imported_before(
    store: Store, location: str | os.PathLike[str], entity: str | None = None
) -> tuple[str, str, str, str] | None:
    """(run_id, source, table, format) of an earlier import of the file at ``location`` (the
    same fingerprint), or None: lets ``segmint update`` refuse a batch before importing any
    of it."""
    src = sniff(str(location))
    return _previous_import(store, _fingerprint(src), src, entity)


def _previous_import(
    store: Store, fingerprint: str, src: Source, table: str | None
) -> tuple[str, str, str, str] | None:
    """(run_id, source, table, format) of an earlier import of the same file, if any."""
    if not src.size or src.kind in ("sqlite", "postgres"):  # databases are re-read on purpose
        return None
    row = store.db.execute(
        "SELECT run_id, source, json_extract_string(spec, '$.table'), "
        "json_extract_string(spec, '$.format') FROM runs WHERE kind = 'ingest' "
        "AND fingerprint = ? AND (? IS NULL OR json_extract_string(spec, '$.table') = ?) "
        "ORDER BY seq DESC LIMIT 1",
        [fingerprint, table, table],
    ).fetchone()
    return (str(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None


def fmt_label(fmt: str, entity: str | None) -> str:
    return f"{fmt} {entity}" if entity and fmt != "auto" else (fmt if fmt != "auto" else "detected")


def _fingerprint(src: Source) -> str:
    """Size plus a hash of 16 spread-out 64 KB blocks (fast on multi-GB files)."""
    if not src.size:
        return hashlib.blake2b(_safe(src.location).encode(), digest_size=16).hexdigest()
    h = hashlib.blake2b(digest_size=16)
    h.update(str(src.size).encode())
    block = 1 << 16
    with open(src.location, "rb") as fh:
        for i in range(16):
            fh.seek(max(0, (src.size - block) * i // 15))
            h.update(fh.read(block))
    return h.hexdigest()


def _safe(location: str) -> str:
    from segmint.ingest.readers import _safe_url

    return _safe_url(location)
