"""Why records are one person, and the reviewers' say: explanations, the review queue and
decisions.

An explanation is Splink's waterfall for a pair: the prior, then each comparison's level with
its match weight (log2 of m/u) and the two values compared, adding up to the pair's match
weight. The pair is scored again with the stored model on the records as they are now, so it
explains the current data even after edits. The review queue is the undecided stored pairs
nearest the threshold (by match weight), where the model is least sure; a decision is kept in
``identity_decisions`` and takes effect at once (the persons are reclustered from the stored
scores) and in every later run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from segmint.exceptions import InputError
from segmint.identity.fields import choose_fields
from segmint.identity.link import (
    DedupeResult,
    _fields_of,
    latest_model,
    prepared_records,
    recluster,
)
from segmint.identity.model import Linkage, arrow, first
from segmint.privacy import audit as audit_log
from segmint.privacy.keys import customer_target
from segmint.store import Store

__all__ = [
    "Explanation",
    "PairExplanation",
    "clusters",
    "decide",
    "explain",
    "explain_pair",
    "review_queue",
]

#: customers columns shown next to each record in explanations and the review queue
SHOWN = (
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "birth_date",
    "address",
    "city",
    "postal_code",
    "country",
)


@dataclass
class PairExplanation:
    """One scored pair and the steps of its match weight."""

    customer_id_l: str
    customer_id_r: str
    match_probability: float
    match_weight: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    decision: str | None = None


@dataclass
class Explanation:
    """A person: its records, and the pairs that linked them, explained."""

    customer_id: str
    person_id: str
    threshold: float
    records: list[dict[str, Any]]
    pairs: list[PairExplanation]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model(store: Store) -> tuple[str, str, float]:
    saved = latest_model(store)
    if saved is None:
        raise InputError(
            "This workspace has no identity map yet.",
            fix="run segmint dedupe first (it links the customer records)",
        )
    return saved


def _records(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    cols = store.columns("customers")
    shown = [c for c in SHOWN if c in cols]
    sel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in shown)
    rows = arrow(
        store.db,
        f"SELECT CAST(customer_id AS VARCHAR) AS customer_id{', ' + sel if sel else ''} "
        "FROM customers WHERE CAST(customer_id AS VARCHAR) IN (SELECT unnest(?)) "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY rowid DESC) = 1 "
        "ORDER BY customer_id",
        [ids],
    )
    return rows.to_pylist()


def _person_of(store: Store, customer_id: str) -> str:
    row = first(
        store.db.execute("SELECT person_id FROM identity_map WHERE customer_id = ?", [customer_id])
    )
    if row is None:
        exists = first(
            store.db.execute(
                "SELECT count(*) FROM customers WHERE CAST(customer_id AS VARCHAR) = ?",
                [customer_id],
            )
        )
        if exists and exists[0]:
            raise InputError(
                f"Customer '{customer_id}' has not been linked yet (it came after the last "
                "dedupe run).",
                fix="run segmint dedupe again (it matches new records incrementally)",
            )
        raise InputError(
            f"There is no customer '{customer_id}' in this workspace.",
            where="customers",
            fix="give a customer id from the customers table (segmint dedupe --out lists them)",
        )
    return str(row[0])


def _linkage(store: Store) -> tuple[Linkage, float]:
    model_run, model, thr = _model(store)
    fields = choose_fields(store.columns("customers"), _fields_of(store, model_run))
    # every record, not only the pair's: term frequencies come from the whole list
    return Linkage.load(prepared_records(store, fields), model), thr


def explain_pair(store: Store, a: str, b: str) -> PairExplanation:
    """The waterfall of one pair of customer records, scored with the stored model."""
    _model(store)
    _person_of(store, a)
    _person_of(store, b)
    link, _thr = _linkage(store)
    try:
        rec = link.score(a, b)
        if rec is None:
            raise InputError(f"Could not read customers '{a}' and '{b}'.", where="customers")
        steps = link.waterfall(rec)
    finally:
        link.close()
    l_, r_ = sorted((a, b))
    return PairExplanation(
        l_, r_, float(rec["match_probability"]), float(rec["match_weight"]), steps,
        _decision(store, l_, r_),
    )  # fmt: skip


def explain(store: Store, customer_id: str, other: str | None = None) -> Explanation:
    """A customer's person: its records and every linking pair among them, explained (or
    the one pair with ``other``)."""
    _, _, thr = _model(store)
    pid = _person_of(store, customer_id)
    if other is not None:
        pair = explain_pair(store, customer_id, other)
        return Explanation(customer_id, pid, thr, _records(store, sorted({customer_id, other})),
                           [pair])  # fmt: skip
    members = [
        str(r[0])
        for r in store.db.execute(
            "SELECT customer_id FROM identity_map WHERE person_id = ? ORDER BY customer_id",
            [pid],
        ).fetchall()
    ]
    linked = store.db.execute(
        "SELECT customer_id_l, customer_id_r FROM identity_pairs WHERE customer_id_l IN "
        "(SELECT unnest($1)) AND customer_id_r IN (SELECT unnest($1)) AND "
        "match_probability >= $2 UNION SELECT customer_id_l, customer_id_r FROM "
        "identity_decisions WHERE decision = 'accept' AND customer_id_l IN (SELECT unnest($1)) "
        "AND customer_id_r IN (SELECT unnest($1)) ORDER BY 1, 2 LIMIT 50",
        [members, thr],
    ).fetchall()
    pairs: list[PairExplanation] = []
    if linked:
        link, _ = _linkage(store)
        try:
            for a, b in linked:
                rec = link.score(str(a), str(b))
                if rec is None:
                    continue
                pairs.append(
                    PairExplanation(
                        str(a),
                        str(b),
                        float(rec["match_probability"]),
                        float(rec["match_weight"]),
                        link.waterfall(rec),
                        _decision(store, str(a), str(b)),
                    )
                )
        finally:
            link.close()
    return Explanation(customer_id, pid, thr, _records(store, members), pairs)


def _decision(store: Store, a: str, b: str) -> str | None:
    row = first(
        store.db.execute(
            "SELECT decision FROM identity_decisions WHERE customer_id_l = ? AND customer_id_r = ?",
            [a, b],
        )
    )
    return str(row[0]) if row else None


def review_queue(store: Store, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` undecided pairs nearest the threshold: each with both records, the match
    probability, and whether the pair is linked now."""
    _, _, thr = _model(store)
    w = math.log2(thr / (1 - thr))
    rows = store.db.execute(
        "SELECT customer_id_l, customer_id_r, match_probability, match_weight FROM "
        "identity_pairs p WHERE NOT EXISTS (SELECT 1 FROM identity_decisions d WHERE "
        "d.customer_id_l = p.customer_id_l AND d.customer_id_r = p.customer_id_r) "
        "ORDER BY abs(match_weight - ?), customer_id_l, customer_id_r LIMIT ?",
        [w, n],
    ).fetchall()
    ids = sorted({str(x) for r in rows for x in r[:2]})
    recs = {r["customer_id"]: r for r in _records(store, ids)} if ids else {}
    return [
        {
            "customer_id_l": str(a),
            "customer_id_r": str(b),
            "match_probability": float(p),
            "match_weight": float(mw),
            "linked": float(p) >= thr,
            "record_l": recs.get(str(a), {"customer_id": str(a)}),
            "record_r": recs.get(str(b), {"customer_id": str(b)}),
        }
        for a, b, p, mw in rows
    ]


def decide(
    store: Store, a: str, b: str, decision: str, *, actor: str | None = None
) -> DedupeResult:
    """Keep a reviewer's decision on a pair (``accept``: one person; ``reject``: two; ``clear``
    forgets it) and recluster at once."""
    if decision not in ("accept", "reject", "clear"):
        raise InputError(
            f"A decision is accept, reject or clear; got '{decision}'.",
            fix="segmint dedupe --accept A,B or --reject A,B",
        )
    if a == b:
        raise InputError("A pair needs two different customer ids.", fix="give two ids")
    _model(store)  # no identity map yet: say so, before any table is read
    _person_of(store, a)
    _person_of(store, b)
    l_, r_ = sorted((a, b))
    with store.transaction():
        store.db.execute(
            "DELETE FROM identity_decisions WHERE customer_id_l = ? AND customer_id_r = ?",
            [l_, r_],
        )
        if decision != "clear":
            store.db.execute(
                "INSERT INTO identity_decisions VALUES (?, ?, ?, ?, ?)",
                [l_, r_, decision, actor or audit_log.current_actor().name,
                 datetime.now(UTC).replace(tzinfo=None)],
            )  # fmt: skip
        # the audit row names the pair by keyed hashes: it must not outlive an erasure
        audit_log.record(
            store,
            "identity_decision",
            target=f"{customer_target(store, l_)},{customer_target(store, r_)}",
            detail={"decision": decision},
        )
    return recluster(store, reason=f"{decision} {l_} {r_}")


def clusters(store: Store, *, linked_only: bool = False) -> Any:
    """The identity map as a pandas DataFrame (customer_id, person_id, match_probability,
    cluster_size), ordered by person."""
    if not store.has_table("identity_map"):
        raise InputError("This workspace has no identity map yet.", fix="run segmint dedupe first")
    where = "WHERE cluster_size > 1" if linked_only else ""
    return store.db.execute(
        "SELECT customer_id, person_id AS cluster_id, person_id, match_probability, "
        f"cluster_size FROM identity_map {where} ORDER BY person_id, customer_id"
    ).fetch_df()
