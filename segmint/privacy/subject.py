"""Finding one person in a workspace: the customer ids an id, an e-mail or a phone stands for.

Erasure and subject access both start here. An e-mail or phone is looked up in ``customers``
(and in ``orders``, which may carry the e-mail given at checkout) after the same
normalization the suppression list uses (:func:`segmint.privacy.keys.normalize`), so that
``Ann@Example.org`` finds ``ann@example.org`` and ``+1 (415) 555-0100`` finds ``+14155550100``.
Once ``segmint dedupe`` has linked records into persons, the ids found bring every record of
their person with them (:func:`segmint.privacy.linked.same_person`): erasing the Mailchimp
subscriber erases the Shopify customer who is the same woman, and her subject access shows
both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmint.exceptions import InputError
from segmint.privacy.keys import normalize, normalize_sql
from segmint.privacy.linked import same_person

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = ["resolve"]

#: the tables and columns an e-mail or a phone is looked up in
_CONTACT_COLUMNS = {"email": ("customers", "orders"), "phone": ("customers",)}


def resolve(
    store: Store,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> list[str]:
    """The customer ids the given identifiers stand for, with every record linked to them
    (sorted; empty when none matches).

    Exactly one of ``customer_id``, ``email`` and ``phone`` must be given.
    """
    given = {
        k: v
        for k, v in (("customer_id", customer_id), ("email", email), ("phone", phone))
        if v is not None
    }
    if len(given) != 1:
        raise InputError(
            f"Give exactly one of a customer id, an e-mail or a phone number; got {len(given)}.",
            fix="e.g. --customer C0042, or --email ann@example.org, or --phone +14155550100.",
        )
    kind, value = next(iter(given.items()))
    wanted = normalize(kind, value)
    if wanted is None:
        raise InputError(
            f"The {kind.replace('_', ' ')} given is empty.", fix="give a non-empty value."
        )
    tables = set(store.table_names())
    found: set[str] = set()
    if kind == "customer_id":  # every table about customers: a per-run snapshot may be all
        from segmint.privacy.pseudonyms import customer_keys
        from segmint.store.tables import customer_keyed_tables

        keys = customer_keys(store, [wanted])
        for spec in customer_keyed_tables():
            for t in store.instances(spec):
                row = store.db.execute(
                    f'SELECT count(*) FROM "{t}" WHERE "{spec.customer_column}" IN ?', [keys]
                ).fetchall()[0]
                if row and row[0]:
                    return same_person(store, [wanted])
        return []
    for t in _CONTACT_COLUMNS[kind]:
        if t not in tables:
            continue
        cols = {r[0] for r in store.db.execute(f'DESCRIBE "{t}"').fetchall()}
        if kind not in cols or "customer_id" not in cols:
            continue
        rows = store.db.execute(
            f'SELECT DISTINCT customer_id FROM "{t}" '
            f"WHERE {normalize_sql(kind, kind)} = ? AND customer_id IS NOT NULL",
            [wanted],
        ).fetchall()
        found.update(r[0] for r in rows)
    return same_person(store, sorted(found))
