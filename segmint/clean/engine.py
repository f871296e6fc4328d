"""Cleaning on an engine other than the embedded one (Spark): the same rules, as expressions.

The embedded clean (``_pipeline.py``) edits the DuckDB tables in place, statement by
statement, in one transaction. Here every table's cleaned form is one Ibis expression over
the imported table, written all-or-nothing by the engine (:meth:`Engine.write`), so the
rows stay in the engine:

- identical lines (every data column equal, lineage ignored) keep the first imported; order
  lines from a source without an order id are kept and counted, as in the embedded clean,
  unless ``drop_identical_lines``;
- a customer id imported twice keeps its last imported row; so does any keyed table;
- e-mails, countries and phones go through the very functions the embedded clean uses
  (:mod:`segmint.clean.standardize`), applied to each table's distinct values inside the
  engine (:meth:`Engine.map_batches`: on Spark they run on the executors) and joined back;
- customers seen only in orders are added (their e-mail and most frequent country from the
  orders; ties between countries go to the first in alphabetical order on both engines).

Counts per check are returned for the run record and the quality gates; sampled problem rows
(``quality_issues``) and the outlier report stay with the embedded clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.clean.standardize import (
    Standardized,
    standardize_countries,
    standardize_emails,
    standardize_phones,
)
from segmint.store.schema import CANONICAL, IBIS_TYPES, LINEAGE

__all__ = ["clean_tables"]

_LINEAGE = tuple(c.name for c in LINEAGE)


def clean_tables(
    engine: Any,
    *,
    orders_without_id: bool,
    drop_identical_lines: bool = False,
    default_region: str | None = None,
) -> tuple[dict[str, ir.Table], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The cleaned canonical tables of ``engine`` (not written), per-table counts and checks.

    ``orders_without_id``: the orders came from a source without an order id (segmint derived
    one per customer × time), so identical lines may be real repeat purchases.
    """
    present = [t for t in CANONICAL if t in engine.tables()]
    out: dict[str, ir.Table] = {}
    counts: dict[str, dict[str, Any]] = {}
    checks: list[dict[str, Any]] = []
    if "orders" in present:
        keep = orders_without_id and not drop_identical_lines
        orders, c = _dedup(engine.table("orders"), keep_identical=keep)
        filled = _filled(orders, ("email", "country"))
        if "email" in filled:
            orders = _standardize(engine, orders, "email", _emails, checks, "orders")
        if "country" in filled:
            orders = _standardize(engine, orders, "country", _countries, checks, "orders")
        out["orders"], counts["orders"] = orders, c
    if "customers" in present or "orders" in present:
        people = engine.table("customers") if "customers" in present else None
        out["customers"], counts["customers"] = _customers(
            engine, people, out.get("orders"), default_region, checks
        )
    for name in ("events", "feedback", "campaigns", "campaign_contacts"):
        if name in present:
            out[name], counts[name] = _other(engine.table(name), name)
    return out, counts, checks


def _data(t: ir.Table) -> list[str]:
    return [c for c in t.columns if c not in _LINEAGE]


def _dedup(t: ir.Table, *, keep_identical: bool = False) -> tuple[ir.Table, dict[str, Any]]:
    """Rows identical in every data column: the first imported stays (or all, counted)."""
    order = [c for c in _LINEAGE if c in t.columns]
    w = ibis.window(group_by=_data(t), order_by=order)
    ranked = t.mutate(_dup=ibis.row_number().over(w))
    n = ranked.aggregate(rows=ranked.count(), extra=(ranked._dup > 0).cast("int64").sum())
    row = n.to_pyarrow().to_pylist()[0]
    rows, extra = int(row["rows"]), int(row["extra"] or 0)
    if keep_identical:
        c: dict[str, Any] = {"rows_before": rows, "rows": rows, "duplicates_removed": 0}
        if extra:
            c["identical_lines"] = {"rows": extra, "kept": True}
        return t, c
    kept = ranked.filter(ranked._dup == 0).drop("_dup") if extra else t
    return kept, {"rows_before": rows, "rows": rows - extra, "duplicates_removed": extra}


def _last_per_key(t: ir.Table, key: Iterable[str]) -> tuple[ir.Table, int]:
    """One row per key (rows without the key stay): the last imported."""
    key = list(key)
    w = ibis.window(group_by=key, order_by=[ibis.desc(c) for c in _LINEAGE if c in t.columns])
    ranked = t.mutate(_last=ibis.row_number().over(w))
    has_key = ibis.and_(*[ranked[k].notnull() for k in key])
    extra = int(ranked.filter(has_key & (ranked._last > 0)).count().to_pyarrow().as_py())
    if not extra:
        return t, 0
    return ranked.filter(~has_key | (ranked._last == 0)).drop("_last"), extra


def _customers(
    engine: Any,
    people: ir.Table | None,
    orders: ir.Table | None,
    region: str | None,
    checks: list[dict[str, Any]],
) -> tuple[ir.Table, dict[str, Any]]:
    if people is None:
        people = _empty_customers(engine)
        before, dups, by_id = 0, 0, 0
    else:
        people, c = _dedup(people)
        before, dups = c["rows_before"], c["duplicates_removed"]
        people, by_id = _last_per_key(people, ["customer_id"])
    filled = _filled(people, ("email", "country", "phone"))
    if "email" in filled:
        people = _standardize(engine, people, "email", _emails, checks, "customers")
    if "country" in filled:
        people = _standardize(engine, people, "country", _countries, checks, "customers")
    if "phone" in filled:
        phone = _phones(region)
        people = _standardize(engine, people, "phone", phone, checks, "customers", key=("country",))
    added = 0
    if orders is not None:
        people, added = _from_orders(people, orders)
    rows = before - dups - by_id + added
    return people, {
        "rows_before": before,
        "rows": rows,
        "duplicates_removed": dups,
        "duplicate_ids_removed": by_id,
        "added_from_orders": added,
    }


def _filled(t: ir.Table, columns: tuple[str, ...]) -> set[str]:
    """Which of ``columns`` (text) hold any value: one aggregate, so that standardizing a
    column nobody filled (CDNOW's orders have no e-mail) costs no job on the engine."""
    have = [c for c in columns if c in t.columns and t[c].type().is_string()]
    if not have:
        return set()
    row = t.aggregate(**{c: t[c].count() for c in have}).to_pyarrow().to_pylist()[0]
    return {c for c in have if row[c]}


def _empty_customers(engine: Any) -> ir.Table:
    schema = {c.name: IBIS_TYPES[c.dtype] for c in (*CANONICAL["customers"].columns, *LINEAGE)}
    return ibis.memtable(
        pd.DataFrame({n: pd.Series([], dtype=object) for n in schema}), schema=schema
    )


def _from_orders(people: ir.Table, orders: ir.Table) -> tuple[ir.Table, int]:
    """Customers with orders but no customer row: e-mail (max) and most frequent country."""
    o = orders.filter(orders.customer_id.notnull())
    known = people.select(_known=people.customer_id).filter(ibis._._known.notnull()).distinct()
    new = o.anti_join(known, o.customer_id == known._known)
    emails = new.group_by("customer_id").aggregate(email=new.email.max())
    per_country = (
        new.filter(new.country.notnull())
        .group_by(["customer_id", "country"])
        .aggregate(_n=ibis._.count())
    )
    w = ibis.window(group_by="customer_id", order_by=[ibis.desc("_n"), "country"])
    top = per_country.mutate(_r=ibis.row_number().over(w)).filter(ibis._._r == 0)
    top = top.select(_cid=top.customer_id, _country=top.country)
    j = emails.left_join(top, emails.customer_id == top._cid)
    added_rows = j.select(customer_id=j.customer_id, email=j.email, country=j._country)
    n = int(added_rows.count().to_pyarrow().as_py())
    if not n:
        return people, 0
    fill = {
        c: ibis.null(people[c].type())
        for c in people.columns
        if c not in ("customer_id", "email", "country")
    }
    shaped = added_rows.mutate(**fill).select(*people.columns)
    shaped = shaped.mutate(**{c: shaped[c].cast(people[c].type()) for c in people.columns})
    return people.union(shaped), n


def _other(t: ir.Table, name: str) -> tuple[ir.Table, dict[str, Any]]:
    t, c = _dedup(t)
    key = CANONICAL[name].key
    if key:
        t, n = _last_per_key(t, key)
        c["duplicate_ids_removed"] = n
        c["rows"] -= n
    return t, c


# -- standardizing through the same Python functions as the embedded clean -----------------
Rule = Callable[[list[tuple[Any, ...]]], dict[Any, Standardized]]


def _emails(keys: list[tuple[Any, ...]]) -> dict[Any, Standardized]:
    found = standardize_emails([k[0] for k in keys])
    return {(v,): s for v, s in found.items()}


def _countries(keys: list[tuple[Any, ...]]) -> dict[Any, Standardized]:
    found = standardize_countries([k[0] for k in keys])
    return {(v,): s for v, s in found.items()}


def _phones(region: str | None) -> Rule:
    def rule(keys: list[tuple[Any, ...]]) -> dict[Any, Standardized]:
        return dict(standardize_phones([(k[0], k[1]) for k in keys], default_region=region))

    return rule


def _standardize(
    engine: Any,
    t: ir.Table,
    column: str,
    rule: Rule,
    checks: list[dict[str, Any]],
    table: str,
    key: tuple[str, ...] = (),
) -> ir.Table:
    """``column`` replaced by its standardized value: the distinct (value, *key) of ``t`` go
    through ``rule`` inside the engine and are joined back; the check counts the rows made
    empty because the value was invalid."""
    if column not in t.columns or not t[column].type().is_string():
        return t
    cols = [column, *key]
    distinct = t.select(*cols).filter(t[column].notnull()).distinct()
    schema = ibis.schema(
        {**{f"_k{i}": "string" for i in range(len(cols))}, "_value": "string", "_bad": "boolean"}
    )

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        keys = [
            tuple(None if pd.isna(v) else v for v in row)
            for row in frame[cols].itertuples(index=False)
        ]
        found = rule(keys)
        out = pd.DataFrame({f"_k{i}": [k[i] for k in keys] for i in range(len(cols))})
        out["_value"] = [found[k].value if k in found else k[0] for k in keys]
        out["_bad"] = [bool(k in found and found[k].reason) for k in keys]
        return out

    mapped = engine.map_batches(distinct, apply, schema)
    t = t.view()  # the distinct values come from t itself: join a fresh reference to it
    cond = [t[c].identical_to(mapped[f"_k{i}"]) for i, c in enumerate(cols)]
    j = t.left_join(mapped, cond)
    bad = j._bad.fill_null(False)
    stats = (
        j.aggregate(n=j[column].count(), bad=bad.cast("int64").sum()).to_pyarrow().to_pylist()[0]
    )
    checks.append(_check(table, column, column, int(stats["bad"] or 0), int(stats["n"] or 0)))
    value = ibis.ifelse(j[column].isnull(), ibis.null("string"), j._value)
    return j.select(*[value.name(c) if c == column else j[c] for c in t.columns])


def _check(table: str, column: str, check: str, bad: int, total: int) -> dict[str, Any]:
    return {
        "table": table,
        "column": column,
        "check": check,
        "n_bad": bad,
        "n_checked": total,
        "share": bad / total if total else 0.0,
    }
