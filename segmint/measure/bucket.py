"""The deterministic split of a test: a customer's bucket from (salt, customer id), and the
variant whose range of buckets holds it.

A split test needs an assignment that anyone can recompute: on another machine, with another
version of DuckDB, in a spreadsheet, months later when the results come in. So the bucket is a
published hash and nothing else:

    h      = the first 8 hex digits of md5(UTF-8 of salt + ":" + customer id), as an integer
    bucket = h / 2**32                                                        (in [0, 1))

MD5 (RFC 1321) is fixed forever and built into DuckDB (``md5()``), so the engine assigns ten
million customers without a round trip through Python; the test suite checks the SQL against
:func:`hash32` here. DuckDB's own ``hash()`` is not used: its values are not promised to stay
the same between versions. (GrowthBook hashes with 32-bit FNV-1a for the same reasons; it is
not built into DuckDB.) MD5's weakness against collisions made on purpose does not matter
here: nobody chooses customer ids to land in an arm, and its first 32 bits are uniform.

Variants get contiguous ranges of the bucket by their weights, in order: with weights 45, 45,
10 the first variant takes [0, 0.45), the second [0.45, 0.9), the last [0.9, 1). The edges
are integers, ``floor(2**32 × cumulative share)`` computed with exact fractions, and ``h`` is
compared with them, so Python and SQL agree to the last customer (no float at an edge).
The salt makes tests independent: the same salt gives the same arms when re-run; another salt
reshuffles them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from fractions import Fraction

__all__ = ["SCALE", "bucket", "hash32", "hash32_sql", "thresholds", "variant_of", "variant_sql"]

#: the number of distinct buckets (32 bits)
SCALE = 2**32


def hash32(salt: str, customer_id: str) -> int:
    """The first 32 bits of ``md5(salt + ":" + customer_id)``, as an integer.

    >>> hash32("spring", "C001")
    3029017462
    """
    digest = hashlib.md5(f"{salt}:{customer_id}".encode(), usedforsecurity=False)
    return int(digest.hexdigest()[:8], 16)


def bucket(salt: str, customer_id: str) -> float:
    """The customer's position in [0, 1): :func:`hash32` / 2**32.

    >>> round(bucket("spring", "C001"), 6)
    0.705248
    """
    return hash32(salt, customer_id) / SCALE


def thresholds(weights: Sequence[float]) -> list[int]:
    """The upper edge of each variant's range of ``h``: ``floor(2**32 × cumulative share)``,
    the last one 2**32. Weights must be positive (checked by the caller).

    >>> thresholds([45, 45, 10])
    [1932735283, 3865470566, 4294967296]
    """
    total = sum(Fraction(w) for w in weights)
    edges, running = [], Fraction(0)
    for w in weights:
        running += Fraction(w)
        edges.append(int(running * SCALE / total))
    edges[-1] = SCALE
    return edges


def variant_of(
    salt: str, customer_id: str, variants: Sequence[str], weights: Sequence[float]
) -> str:
    """The variant of one customer (the pure form of :func:`variant_sql`).

    >>> variant_of("spring", "C001", ["A", "B", "control"], [45, 45, 10])
    'B'
    """
    h = hash32(salt, customer_id)
    for name, edge in zip(variants, thresholds(weights), strict=True):
        if h < edge:
            return name
    raise AssertionError("the last edge is 2**32")  # pragma: no cover


def hash32_sql(salt_sql: str, id_sql: str) -> str:
    """DuckDB SQL for :func:`hash32` of two VARCHAR expressions (e.g. ``?`` and a column)."""
    return f"CAST('0x' || substr(md5({salt_sql} || ':' || {id_sql}), 1, 8) AS UBIGINT)"


def variant_sql(h_sql: str, variants: Sequence[str], weights: Sequence[float]) -> str:
    """DuckDB SQL giving the variant of hash ``h_sql``: a CASE over the integer edges.

    Variant names are written as SQL string literals (quotes doubled), so the expression can
    be used anywhere without parameters."""
    cases = " ".join(
        f"WHEN {h_sql} < {edge} THEN {_literal(name)}"
        for name, edge in zip(variants[:-1], thresholds(weights)[:-1], strict=True)
    )
    last = _literal(variants[-1])
    return f"CASE {cases} ELSE {last} END" if cases else last


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
