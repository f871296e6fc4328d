"""Pseudonyms: derived tables name customers by a keyed hash, not by their id.

``segmint pseudonymize`` rewrites every *derived* customer-keyed table (features and their
per-run snapshots, assignments, values, value summaries, export members, experiment
assignments: the kinds features, result, activation and measure of
:mod:`segmint.store.tables`) so that ``customer_id`` holds ``p_`` and the first 32 hex digits
of the HMAC-SHA-256 of the id under the workspace's privacy key
(:func:`segmint.privacy.keys.workspace_key`, kept outside the workspace file), and drops the
direct identifiers (e-mail, phone, names, street addresses) that a dynamic table carries as
extra attributes; the example customers that a stored result quotes (``segmentations.result``)
are quoted by pseudonym too. The canonical tables (customers, orders, events, feedback, campaign
contacts) keep the real data: they are what reaches a customer.

32 hex digits are 128 bits: among a billion customers the chance that two share a pseudonym
is below n²/2¹²⁹ ≈ 1.5·10⁻²¹, and the text stays short enough to read in a report. A value
that already has the form ``p_`` + 32 lower-case hex digits is never hashed again, so the
rewrite is idempotent (a real id of exactly that form would be taken for a pseudonym).

The rewrite is recorded as the setting ``pseudonyms: true`` (table ``settings``), and from then
on every stage that writes a derived table keeps it pseudonymized (:func:`keep_pseudonymized`
in the write's transaction), and every place where a derived table meets a canonical one goes
through :func:`customer_key_sql` (SQL) or :func:`keyed_table` (an Ibis table), which give the
id unchanged while the setting is off. Hashing in the engine costs about 2 s per million ids
on one core, so only per-customer rows are hashed, never each order line of a full build.

When ``segmint dedupe`` has linked records into persons (``identity_map``), derived tables are
about persons: their ``customer_id`` is the person id (:mod:`segmint.privacy.linked`), and the
two functions name a record by its person first, then by the person's pseudonym. The identity
tables themselves keep the real ids, like the canonical tables: they say which real records
are one person, and linking the next import, explaining a link and reviewing a pair all read
the records behind them (erasure and subject access visit them, every id column included).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from segmint.privacy.keys import hmac_sql, keyed_hash, workspace_key
from segmint.privacy.linked import linked, person_sql

if TYPE_CHECKING:
    import ibis

    from segmint.store import Store

__all__ = [
    "DERIVED_KINDS",
    "IDENTIFIER",
    "PATTERN",
    "RESULT_JSON",
    "SETTING",
    "customer_key_sql",
    "customer_keys",
    "derived_tables",
    "enabled",
    "keep_pseudonymized",
    "keyed_table",
    "pseudonym",
    "pseudonymize",
]

SETTING = "pseudonyms"
#: the kinds of table (segmint.store.tables) whose customer ids become pseudonyms
DERIVED_KINDS = ("features", "result", "activation", "measure")
#: how a pseudonym looks (``p_`` and 32 lower-case hex digits)
PATTERN = "p_[0-9a-f]{32}"
#: column names that are direct identifiers, dropped from derived tables
IDENTIFIER = re.compile(
    r"(e_?mail(_address)?|(mobile_|home_|work_)?phone(_number)?|mobile|telephone|"
    r"(first|last|full|given|family|middle|sur)_?name|name|"
    r"(street|postal|home|billing|shipping)_?address(_line_?\d)?|address(_line_?\d)?|street|"
    r"house_number|ip(_address)?)",
    re.IGNORECASE,
)


def pseudonym(key: bytes, customer_id: str) -> str:
    """The pseudonym of ``customer_id`` under ``key`` (as :func:`customer_key_sql` computes it).

    >>> pseudonym(b"k" * 32, "C1")
    'p_c08ffd52c974e79a6445fedb5c2a9352'
    """
    if re.fullmatch(PATTERN, customer_id):
        return customer_id
    return "p_" + keyed_hash(key, customer_id)[:32]


def customer_keys(store: Store, ids: list[str]) -> list[str]:
    """How ``ids`` appear across the workspace: themselves, and their pseudonyms when the
    derived tables hold pseudonyms (erasure and subject access look for both)."""
    if not ids or not enabled(store):
        return list(ids)
    key = workspace_key(store)
    return [*ids, *(pseudonym(key, i) for i in ids)]


def enabled(store: Store) -> bool:
    """Whether the workspace keeps its derived tables pseudonymized."""
    if "settings" not in store.table_names():
        return False
    row = store.db.execute("SELECT value FROM settings WHERE name = ?", [SETTING]).fetchone()
    return bool(row and json.loads(row[0]) is True)


def _key_sql(key: bytes, expr: str) -> str:
    text = f"CAST({expr} AS VARCHAR)"
    return (
        f"CASE WHEN regexp_full_match({text}, '{PATTERN}') THEN {text} "
        f"ELSE 'p_' || left({hmac_sql(key, text)}, 32) END"
    )


def customer_key_sql(store: Store, expr: str, *, persons: bool = True) -> str:
    """The SQL that names a customer as derived tables do: ``expr`` itself, its person (when
    records are linked) and its pseudonym (when the workspace has pseudonyms on). Use it
    wherever a canonical table (real ids) meets a derived one:
    ``ON {customer_key_sql(store, 'c.customer_id')} = a.customer_id``. ``persons=False``: the
    ids in ``expr`` are person ids already (the golden records of
    :func:`segmint.identity.persons.customers_sql`)."""
    if persons:
        expr = person_sql(store, expr)
    if not enabled(store):
        return expr
    return _key_sql(workspace_key(store), expr)


def keyed_table(store: Store, name: str, *, source: str | None = None) -> ibis.Table:
    """The canonical table ``name`` as an Ibis table whose ``customer_id`` is named as in the
    derived tables: by its person and pseudonym (a temporary view over it when either is on;
    every row stays, so a person with two records has two ``customers`` rows here).

    ``source``: a SQL relation to read instead of the stored table, whose ids are person ids
    already (the golden records :func:`segmint.identity.persons.customers_sql` gives)."""
    from segmint.store import quote

    on = source is not None or enabled(store) or linked(store)
    if not on or "customer_id" not in store.columns(name):
        return store.table(name)
    view = f"_segmint_keyed_{name}" if source is None else f"_segmint_keyed_person_{name}"
    key = customer_key_sql(store, "t.customer_id", persons=source is None)
    store.db.execute(
        f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS "
        f"SELECT t.* REPLACE ({key} AS customer_id) FROM {source or quote(name)} t"
    )
    return store.ibis.table(view)


def derived_tables(store: Store) -> list[str]:
    """This workspace's derived customer-keyed tables (every member of a family)."""
    from segmint.store.tables import customer_keyed_tables

    out: list[str] = []
    for t in customer_keyed_tables():
        if t.kind in DERIVED_KINDS:
            out += store.instances(t)
    return out


def _rewrite(store: Store, key: bytes, table: str) -> dict[str, int]:
    """Pseudonymize one table in place; rows rewritten and identifier columns dropped."""
    from segmint.store import quote
    from segmint.store.tables import workspace_table

    columns = workspace_table(table).customer_columns or ("customer_id",)
    n = 0
    for column in columns:  # every id column: a pair's other record, a record's person
        q = quote(column)
        todo = f"{q} IS NOT NULL AND NOT regexp_full_match(CAST({q} AS VARCHAR), '{PATTERN}')"
        row = store.db.execute(f"SELECT count(*) FROM {quote(table)} WHERE {todo}").fetchone()
        found = int(row[0]) if row else 0
        if found:
            store.db.execute(f"UPDATE {quote(table)} SET {q} = {_key_sql(key, q)} WHERE {todo}")
        n = max(n, found)
    dropped = [c for c in store.columns(table) if c not in columns and IDENTIFIER.fullmatch(c)]
    for c in dropped:
        store.db.execute(f"ALTER TABLE {quote(table)} DROP COLUMN {quote(c)}")
    return {"rows": n, "columns": len(dropped)}


#: JSON columns of derived tables that quote customers by id (a profile's example customers)
RESULT_JSON = (("segmentations", "result"),)


def _walk(value: Any, key: bytes) -> tuple[Any, int]:
    """``value`` (parsed JSON) with every ``"customer_id"`` entry made a pseudonym; changes."""
    if isinstance(value, list):
        done = [_walk(v, key) for v in value]
        return [v for v, _ in done], sum(n for _, n in done)
    if not isinstance(value, dict):
        return value, 0
    out, n = {}, 0
    for k, v in value.items():
        if k == "customer_id" and isinstance(v, str | int) and not isinstance(v, bool):
            new = pseudonym(key, str(v))
            out[k], n = new, n + (new != v)
        else:
            out[k], m = _walk(v, key)
            n += m
    return out, n


def _rewrite_json(store: Store, key: bytes, table: str, column: str) -> int:
    """The customer ids quoted in ``table.column`` (JSON) as pseudonyms; rows changed."""
    from segmint.store import quote

    if table not in store.table_names():
        return 0
    rows = store.db.execute(f"SELECT rowid, {quote(column)} FROM {quote(table)}").fetchall()
    changed = 0
    for rowid, text in rows:
        if text is None:
            continue
        new, n = _walk(json.loads(text), key)
        if n:
            store.db.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = ? WHERE rowid = ?",
                [json.dumps(new, ensure_ascii=False), rowid],
            )
            changed += 1
    return changed


def keep_pseudonymized(store: Store, tables: str | Iterable[str]) -> int:
    """After a stage wrote ``tables`` (call inside its transaction): pseudonymize them when
    the workspace has pseudonyms on; the rows rewritten (0 when off, or already done)."""
    if not enabled(store):
        return 0
    names = [tables] if isinstance(tables, str) else list(tables)
    key = workspace_key(store)
    have = set(store.table_names())
    return sum(_rewrite(store, key, t)["rows"] for t in names if t in have)


def pseudonymize(store: Store, *, dry_run: bool = False) -> dict[str, int]:
    """Replace the customer ids of every derived table by their pseudonyms, drop the direct
    identifiers they carry, and turn the setting on, in one transaction with its audit row.

    Returns the rows rewritten per table (with ``dry_run``: the rows that would be, and
    nothing is written). Running it again rewrites only what is not yet a pseudonym.
    """
    from segmint.privacy.audit import record
    from segmint.store import quote

    key = workspace_key(store)  # refuses another key before anything is written
    tables = derived_tables(store)
    if dry_run:
        out: dict[str, int] = {}
        for t in tables:
            row = store.db.execute(
                f"SELECT count(*) FROM {quote(t)} WHERE customer_id IS NOT NULL AND NOT "
                f"regexp_full_match(CAST(customer_id AS VARCHAR), '{PATTERN}')"
            ).fetchone()
            out[t] = int(row[0]) if row else 0
        return out
    with store.transaction():
        done = {t: _rewrite(store, key, t) for t in tables}
        quoted = sum(_rewrite_json(store, key, t, c) for t, c in RESULT_JSON)
        store.ensure("settings")
        store.db.execute(
            "INSERT OR REPLACE INTO settings VALUES (?, 'true', now()::TIMESTAMP)", [SETTING]
        )
        counts = {t: d["rows"] for t, d in done.items()}
        record(
            store,
            "pseudonymize",
            detail={
                "tables": counts,
                "rows": sum(counts.values()),
                "identifier_columns_dropped": sum(d["columns"] for d in done.values()),
                "results_rewritten": quoted,
            },
        )
    return counts
