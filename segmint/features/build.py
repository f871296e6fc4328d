"""Build the wide per-customer feature table from the canonical tables, as one Ibis expression.

One row per customer: every customer_id in ``orders`` with a line at or before ``as_of``, and
every customer in ``customers`` who existed then; with neither table, every respondent in
``feedback`` (a survey or reviews alone) (``signup_at`` at or before ``as_of``; a
customer without ``signup_at`` counts unless all their order lines come later). Families whose
tables are absent are skipped. Columns come in catalog order, families in the order of
:data:`~segmint.features.catalog.FAMILIES`.

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> orders = ibis.memtable(pd.DataFrame({"order_id": ["A"], "customer_id": ["C1"],
...     "ordered_at": pd.to_datetime(["2024-01-01"]), "amount": [10.0], "category": ["toys"]}))
>>> people = ibis.memtable(pd.DataFrame({"customer_id": ["C1", "C2"], "country": ["DE", "FR"]}))
>>> wide = build_features({"orders": orders, "customers": people}, datetime(2024, 1, 31))
>>> cols = ["customer_id", "frequency", "cat_toys_share", "country"]
>>> for row in wide.select(*cols).to_pyarrow().to_pylist():
...     print(row)
{'customer_id': 'C1', 'frequency': 1, 'cat_toys_share': 1.0, 'country': 'DE'}
{'customer_id': 'C2', 'frequency': 0, 'cat_toys_share': None, 'country': 'FR'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from segmint.exceptions import InputError, SpecError
from segmint.features._common import FeaturePart, naive_utc, orders_as_of
from segmint.features.attributes import attribute_features
from segmint.features.behavior import event_features, order_features
from segmint.features.catalog import FAMILIES
from segmint.features.demographics import demographic_features
from segmint.features.firmographic import firmographic_features
from segmint.features.geography import geographic_features
from segmint.features.psychographic import feedback_features
from segmint.features.text import text_features

__all__ = ["build_features", "check_families"]


def check_families(families: Sequence[str] | None) -> list[str]:
    """The families to build, in catalog order; all of them for ``None``."""
    if families is None:
        return list(FAMILIES)
    if isinstance(families, str):
        families = [families]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        got = ", ".join(repr(f) for f in unknown) if unknown else "an empty list"
        raise SpecError(
            f"The 'families' parameter of build_features must name feature families from "
            f"{', '.join(FAMILIES)}. Got {got}.",
            fix="leave it out to build every family, or pass e.g. ['behavioral', 'demographic'].",
        )
    return [f for f in FAMILIES if f in families]


def build_features(
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    *,
    families: Sequence[str] | None = None,
    top_categories: int = 8,
    reference: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """The wide feature table (one row per customer, ordered by customer_id) as an Ibis table.

    ``tables`` maps canonical table names to Ibis tables; ``top_categories`` is how many
    categories, channels and event names get their own column (the rest go to ``other``).
    ``reference``: the full tables when ``tables`` hold only some customers' rows (an
    incremental update, :mod:`segmint.features.incremental`); the choices that depend on every
    customer (top categories, channels and event names; which integer attributes are codes)
    are made on them, so those customers get exactly the row a full build gives them.
    """
    ref = reference or {}
    chosen = check_families(families)
    if type(top_categories) is not int or top_categories < 1:
        raise SpecError(
            "The 'top_categories' parameter of build_features must be an int ≥ 1. "
            f"Got {top_categories!r}.",
            fix="pass e.g. top_categories=8 (the default).",
        )
    orders, customers = tables.get("orders"), tables.get("customers")
    feedback = tables.get("feedback")
    if orders is None and customers is None and feedback is None:
        raise InputError(
            "Features need a 'customers', an 'orders' or a 'feedback' table. "
            f"Got {', '.join(sorted(tables)) or 'no tables'}.",
            fix="import orders, customers or feedback first, e.g. segmint ingest orders.csv.",
        )
    when = naive_utc(as_of)
    order_part = None
    if orders is not None and "behavioral" in chosen:
        order_part = order_features(orders, when, top_n=top_categories, reference=ref.get("orders"))
    people, ids = _customers(customers, orders, when) if customers is not None else (None, None)
    if ids is None and orders is None and feedback is not None:
        ids = _respondents(feedback, when)  # a survey or reviews alone: one row per respondent
    wide = _spine(ids, orders, order_part, when)
    for part in _other_parts(tables, people, chosen, when, top_categories, ref.get("events")):
        wide = _attach(wide, part)
    if people is not None and "attributes" in chosen:  # last: built features keep their names
        everyone = ref.get("customers")
        if everyone is not None:
            everyone = everyone.filter(everyone.customer_id.notnull())
        attrs = attribute_features(people, reserved=wide.columns, reference=everyone)
        if attrs.features:
            wide = _attach(wide, attrs)
    return wide.order_by("customer_id")


def _other_parts(
    tables: Mapping[str, ir.Table],
    people: ir.Table | None,
    chosen: list[str],
    when: datetime,
    top_n: int,
    all_events: ir.Table | None = None,
) -> list[FeaturePart]:
    parts = []
    if "behavioral" in chosen and "events" in tables:
        parts.append(event_features(tables["events"], when, top_n=top_n, reference=all_events))
    if people is not None:
        if "demographic" in chosen:
            parts.append(demographic_features(people, when))
        if "geographic" in chosen:
            parts.append(geographic_features(people))
    if "psychographic" in chosen and "feedback" in tables:
        parts.append(feedback_features(tables["feedback"], when))
    if "text" in chosen and "feedback_texts" in tables:
        parts.append(text_features(tables["feedback_texts"], tables.get("feedback_topics"), when))
    if people is not None and "firmographic" in chosen:
        parts.append(firmographic_features(people))
    return _merged([p for p in parts if p.features], people)


def _merged(parts: list[FeaturePart], people: ir.Table | None) -> list[FeaturePart]:
    """Consecutive parts that are projections of ``people`` (demographic, geographic,
    firmographic: one row per customer each) as one projection, joined once.

    Each join holds a hash table of its part: on 10M customers the separate joins of three
    projections of the same table passed DuckDB's 1.5 GB cap (203M order lines, "Out of
    Memory"). One projection gives the same columns in the same order.
    """
    if people is None:
        return parts
    base = people.op()

    def projects(p: FeaturePart) -> bool:
        op = p.table.op()
        return isinstance(op, ops.Project) and op.parent == base

    out: list[FeaturePart] = []
    for p in parts:
        if out and projects(p) and projects(out[-1]):
            values: dict[str, ir.Value] = {"customer_id": people.customer_id}
            for q in (out[-1], p):
                op = cast(ops.Project, q.table.op())
                values |= {n: v.to_expr() for n, v in op.values.items() if n != "customer_id"}
            out[-1] = FeaturePart(people.select(**values), {**out[-1].fill, **p.fill})
        else:
            out.append(p)
    return out


def _customers(
    customers: ir.Table, orders: ir.Table | None, when: datetime
) -> tuple[ir.Table, ir.Table]:
    """(one row per customer, the ids of the customers who existed at ``when``).

    A repeated id (``clean`` not run) keeps its last imported row. A customer existed if they
    signed up by ``when``; one without ``signup_at`` unless all their order lines come later.
    """
    c = customers.filter(customers.customer_id.notnull())
    dated = "signup_at" in c.columns
    checks: dict[str, ir.Value] = {"dups": c.count() - c.customer_id.nunique()}
    if dated:
        checks["undated"] = c.signup_at.isnull().sum()
    stats = c.aggregate(**checks).to_pyarrow().to_pylist()[0]
    if stats["dups"]:
        order = [ibis.desc(n) for n in ("_run_id", "_row") if n in c.columns]
        rank = ibis.row_number().over(group_by=c.customer_id, order_by=order)
        c = c.mutate(_rank=rank).filter(ibis._["_rank"] == 0).drop("_rank")
    if not dated:
        return c, c.select("customer_id")
    existed = c.signup_at <= when
    if stats["undated"]:
        undated = c.signup_at.isnull()
        if orders is not None:  # costs a scan of orders: only when needed
            undated = undated & ~c.customer_id.isin(_not_counted(orders, when).customer_id)
        existed = existed | undated
    return c, c.filter(existed.fill_null(False)).select("customer_id")


def _respondents(feedback: ir.Table, when: datetime) -> ir.Table:
    """The customers (or survey respondents) with a feedback row at or before ``when`` (undated
    rows count): the spine of a workspace holding feedback alone."""
    f = feedback.filter(feedback.customer_id.notnull())
    if "answered_at" in f.columns:
        f = f.filter(f.answered_at.isnull() | (f.answered_at <= when))
    return f.select("customer_id").distinct()


def _not_counted(orders: ir.Table, when: datetime) -> ir.Table:
    """Order lines of known customers that do not make them buyers at ``when`` (later or
    undated).

    Only these matter for an undated customer: one with a line at or before ``when`` is a
    buyer and joins the spine through the buyers anyway. Guest lines (no customer id) are
    left out: in SQL a NULL in the list makes ``NOT IN`` unknown for everyone, which would
    drop every undated customer without orders as soon as the shop has one guest checkout.
    """
    t = orders.ordered_at
    return orders.filter(orders.customer_id.notnull(), t.isnull() | (t > when))


def _spine(
    ids: ir.Table | None,
    orders: ir.Table | None,
    order_part: FeaturePart | None,
    when: datetime,
) -> ir.Table:
    """Customer ids (with the order features when built): customers ⟗ buyers before ``as_of``."""
    buyers = order_part.table if order_part is not None else None
    if buyers is None and orders is not None:
        buyers = orders_as_of(orders, when).select("customer_id").distinct()
    if buyers is None:
        assert ids is not None
        return ids
    if ids is None:
        return _filled(buyers, order_part)
    j = ids.outer_join(buyers, ids.customer_id == buyers.customer_id)
    rest = [buyers[c] for c in buyers.columns if c != "customer_id"]
    both = j.select(ibis.coalesce(ids.customer_id, buyers.customer_id).name("customer_id"), *rest)
    return _filled(both, order_part)


def _attach(wide: ir.Table, part: FeaturePart) -> ir.Table:
    t = part.table.view()  # parts may share a base table (customers) with the spine
    j = wide.view().left_join(t, "customer_id", rname="{name}__part")
    return _filled(j.drop("customer_id__part"), part)


def _filled(t: ir.Table, part: FeaturePart | None) -> ir.Table:
    if part is None or not part.fill:
        return t
    return t.mutate(**{c: t[c].fill_null(v) for c, v in part.fill.items()})
