"""Match source headers to canonical columns: explicit mapping > format aliases > generic aliases.

Columns nobody claims are kept as extra attributes under a snake_case name.

A list of customers without an id column (Hillstrom, UCI Wholesale: one row per customer,
only attributes) is still a list of customers: a marketer expects to segment it as it is,
not to invent an id first. Each row then gets its data row number (1…N, header excluded) as
``customer_id`` — deterministic, and said in the import notes. Such ids identify customers
only within that file: they cannot join to orders or to another export. A file whose columns
name no table at all is read the same way (one customer per row), also with a note; ``--as``
says otherwise. When a required id is missing elsewhere, only a mostly distinct column is
offered as "is it …?": a 0/1 outcome is never an id.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from segmint.exceptions import MappingError, SpecError
from segmint.ingest.formats import (
    GENERIC_ALIASES,
    INDICATORS,
    SourceFormat,
    detect,
    generic,
    lookup,
    normalize_header,
)
from segmint.ingest.limits import NAME_CHARS, excerpt
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["ColumnMapping", "resolve", "snake"]


@dataclass
class ColumnMapping:
    entity: str
    fmt: SourceFormat
    #: canonical or auxiliary name -> source column
    columns: dict[str, str]
    #: source column -> extra attribute name
    extras: dict[str, str] = field(default_factory=dict)
    explicit: dict[str, str] = field(default_factory=dict)
    #: customer_id is the row number (a customers file without an id column)
    row_ids: bool = False
    #: the table was not named by --as, a format or a recognised header: one customer per row
    assumed: bool = False


#: (distinct values, non-empty values) of a source column, for "is it …?" id hints
Cardinality = Callable[[str], tuple[int, int]]
ROW_ID_NOTE = (
    "no customer id column: rows numbered 1…N as customer_id (the file's data rows, header "
    "excluded; they identify customers within this file only)"
)
ASSUMED_NOTE = (
    "no column names an order, event or other table, so each row is read as one customer "
    "with attributes (use --as to say otherwise)"
)


def snake(name: str) -> str:
    """'Lifecycle Stage' → 'lifecycle_stage'; '2nd Phone' → 'c_2nd_phone'."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    s = re.sub(r"_+", "_", s) or "column"
    return f"c_{s}" if s[0].isdigit() else s


def guess_entity(headers: list[str]) -> str | None:
    """The table a file most likely fills, from its headers (None: no clue).

    The table with the most indicator columns wins (its missing required columns are then
    reported by name). A file with none is a list of customers with attributes, with or
    without an id column: a code column named ``Channel`` (UCI Wholesale) is one of them, not
    the sales channel of order lines, which would also need a date and an amount.

    >>> guess_entity(["customer_id", "Channel", "Region", "Fresh", "Milk"])
    'customers'
    >>> guess_entity(["Channel", "Region", "Fresh"])
    'customers'
    """
    return _indicated(headers) or ("customers" if headers else None)


def _indicated(headers: list[str]) -> str | None:
    """The table with the most indicator columns among ``headers`` (None: none has any)."""
    have = {normalize_header(h) for h in headers}

    def found(entity: str) -> set[str]:
        aliases = GENERIC_ALIASES[entity]
        return {c for c in aliases if any(normalize_header(a) in have for a in aliases[c])}

    scores = {e: len(found(e) & set(ind)) for e, ind in INDICATORS.items()}
    best = max(scores.values())
    return next(e for e in INDICATORS if scores[e] == best) if best > 0 else None


def resolve(
    headers: list[str],
    *,
    entity: str | None,
    fmt_name: str = "auto",
    explicit: dict[str, str] | None = None,
    where: str,
    cardinality: Cardinality | None = None,
) -> ColumnMapping:
    """The mapping of ``headers`` to ``entity`` (guessed when None); MappingError naming what
    is missing. ``cardinality`` lets a missing id's "is it …?" hint skip repetitive columns."""
    explicit = dict(explicit or {})
    if entity is not None and entity not in CANONICAL:
        raise SpecError(
            f"'{entity}' is not a table segmint imports into.",
            fix=f"use --as with one of: {', '.join(CANONICAL)}.",
        )
    fmt: SourceFormat | None
    fmt = detect(headers, entity) if fmt_name == "auto" else lookup(fmt_name, entity)
    assumed = False
    if entity is None:
        # the canonical names of an explicit mapping are evidence too (a file without header)
        entity = fmt.entity if fmt is not None else _guess(headers, explicit)
        assumed = entity == "customers" and fmt is None and not _named_customers(headers)
    if entity is None:
        raise MappingError(
            "segmint could not tell what this file holds (orders, customers, events, …): none "
            f"of its columns ({_shown(headers)}) has a name it recognises.",
            where=where,
            fix="say what it is with --as orders|customers|events|feedback|campaigns|"
            "campaign_contacts and map the columns with --map canonical=Header.",
        )
    if fmt is None or fmt.entity != entity:
        fmt = generic(entity)
    schema = CANONICAL[entity]
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    columns: dict[str, str] = {}
    used: set[str] = set()
    allowed = set(schema.names) | set(fmt.aux)
    for canon, header in explicit.items():
        if canon not in allowed:
            raise SpecError(
                f"The mapping names '{canon}', which is not a column of {entity}.",
                fix=f"map one of: {', '.join(schema.names)}.",
            )
        if header not in headers:
            near = difflib.get_close_matches(header, headers, n=1)
            raise MappingError(
                f"The mapping says {canon} comes from column '{header}', but the file has no "
                f"such column (it has {_shown(headers)}).",
                where=where,
                fix=f"use the exact header{f', perhaps {near[0]!r}' if near else ''}.",
            )
        columns[canon] = header
        used.add(header)
    generic_aliases = GENERIC_ALIASES[entity]
    targets = list(schema.names) + [a for a in fmt.aux if a not in schema.names]
    for source in (dict(fmt.aliases) | {k: v.aliases for k, v in fmt.aux.items()}, generic_aliases):
        for canon in targets:
            if canon in columns:
                continue
            for alias in source.get(canon, ()):
                found = by_norm.get(normalize_header(alias))
                if found is not None and found not in used:
                    columns[canon] = found
                    used.add(found)
                    break
    row_ids = entity == "customers" and not {"customer_id", "email"} & (
        set(columns) | set(fmt.derive)
    )
    if not row_ids:
        _check_required(entity, fmt, columns, headers, where, cardinality)
    taken = set(schema.names) | {c.name for c in LINEAGE} | set(fmt.aux)
    extras: dict[str, str] = {}
    for h in headers:
        if h in used:
            continue
        name = snake(h)
        base, n = name, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
        extras[h] = name
    return ColumnMapping(entity, fmt, columns, extras, explicit, row_ids, assumed)


def _guess(headers: list[str], explicit: dict[str, str]) -> str | None:
    """The headers' table, else the explicit mapping's (a file without header), else customers."""
    return _indicated(headers) or _indicated(list(explicit)) or guess_entity(headers)


def _named_customers(headers: list[str]) -> bool:
    """Whether a header names a customers-only column (an id, email, name…)."""
    have = {normalize_header(h) for h in headers}
    aliases = GENERIC_ALIASES["customers"]
    own = ("customer_id", "email", "first_name", "last_name", "signup_at", "birth_date")
    return any(normalize_header(a) in have for c in own for a in aliases.get(c, ()))


def _check_required(
    entity: str,
    fmt: SourceFormat,
    columns: dict[str, str],
    headers: list[str],
    where: str,
    cardinality: Cardinality | None = None,
) -> None:
    schema = CANONICAL[entity]
    missing = []
    for alternatives in schema.required:
        if any(a in columns or a in fmt.derive for a in alternatives):
            continue
        missing.append(alternatives)
    if not missing:
        return
    parts = []
    for alts in missing:
        desc = schema.column(alts[0]).description.rstrip(".").lower()
        names = " or ".join(f"'{a}'" for a in alts)
        aliases = [a for c in alts for a in GENERIC_ALIASES[entity].get(c, ())]
        near = _near(alts[0], [h for h in headers if h not in columns.values()], cardinality)
        hint = f" (is it '{near}'?)" if near else ""
        parts.append(f"{names} — {desc}; usual headers: {', '.join(aliases[:4])}{hint}")
    first = missing[0][0]
    raise MappingError(
        f"To import {entity}, segmint needs a column for "
        + "; and ".join(parts)
        + f". The file has: {_shown(headers)}.",
        where=where,
        fix=f"rename the column in the file, or map it: segmint ingest FILE --as {entity} "
        f"--map {first}='Your Header' (in a spec: mapping: {{{first}: Your Header}}).",
    )


def _near(canon: str, headers: list[str], cardinality: Cardinality | None) -> str | None:
    """The header most like ``canon``; for an id, only a column with many distinct values."""
    by_norm = {normalize_header(h): h for h in reversed(headers)}
    for norm in difflib.get_close_matches(normalize_header(canon), list(by_norm), n=3, cutoff=0.5):
        header = by_norm[norm]
        if not canon.endswith("_id") and canon != "email":
            return header
        if cardinality is None:
            continue  # an id's look-alike is no evidence without its values
        distinct, filled = cardinality(header)
        if distinct >= max(3, filled // 2) or (canon == "customer_id" and distinct >= 20):
            return header
    return None


def _shown(headers: list[str], n: int = 12) -> str:
    shown = ", ".join(f"'{excerpt(h, NAME_CHARS)}'" for h in headers[:n])
    return shown + (f" and {len(headers) - n} more" if len(headers) > n else "")
