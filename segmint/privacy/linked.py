"""Which customer records are one person, read by SQL from the identity map.

``segmint dedupe`` (:mod:`segmint.identity`) writes ``identity_map`` (``customer_id →
person_id``, the person id being the customer id of one member record). Privacy comes before
identity in the pipeline, yet a person's rights cover every record of theirs: erasing or
reading one id must reach the records linked to it, and derived tables (features, segments,
exports) name a person by the person id. So this module reads the map by SQL, never through
the identity stage's code. A workspace without the map (or with an empty one) has one person
per record, and every function here gives its input back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = ["MAP", "linked", "person_sql", "same_person"]

#: the table ``segmint dedupe`` writes (declared in segmint.store.tables)
MAP = "identity_map"


def linked(store: Store) -> bool:
    """Whether the workspace has an identity map with at least one row."""
    if not store.has_table(MAP):
        return False
    # fetchall: a result left unfinished blocks the Ibis queries on the same connection
    return store.db.execute(f"SELECT EXISTS (SELECT 1 FROM {MAP})").fetchall() == [(True,)]


def person_sql(store: Store, expr: str) -> str:
    """SQL naming the person of the customer id ``expr``: its ``person_id`` in the map, or
    ``expr`` itself (a record the map does not hold is its own person). A correlated scalar
    subquery, which DuckDB turns into a hash join (300k ids against a 200k-row map: 0.07 s);
    ``min`` keeps it one value even if a map held a record twice."""
    if not linked(store):
        return expr
    text = f"CAST({expr} AS VARCHAR)"
    return f"coalesce((SELECT min(m.person_id) FROM {MAP} m WHERE m.customer_id = {text}), {text})"


def same_person(store: Store, ids: Sequence[str]) -> list[str]:
    """``ids`` and every customer id linked to one of them (sorted): the records of the
    persons ``ids`` belong to."""
    if not ids or not linked(store):
        return sorted(set(ids))
    persons = f"(SELECT person_id FROM {MAP} WHERE customer_id IN $ids OR person_id IN $ids)"
    rows = store.db.execute(  # the person id is a record's id too
        f"SELECT customer_id FROM {MAP} WHERE person_id IN {persons} UNION SELECT * FROM {persons}",
        {"ids": list(ids)},
    ).fetchall()
    return sorted({*ids, *(str(r[0]) for r in rows)})
