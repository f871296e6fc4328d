"""Match source headers to canonical columns: explicit mapping > format aliases > generic aliases.

Columns nobody claims are kept as extra attributes under a snake_case name.
"""

from __future__ import annotations

import difflib
import re
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


def snake(name: str) -> str:
    """'Lifecycle Stage' → 'lifecycle_stage'; '2nd Phone' → 'c_2nd_phone'."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    s = re.sub(r"_+", "_", s) or "column"
    return f"c_{s}" if s[0].isdigit() else s


def guess_entity(headers: list[str]) -> str | None:
    """The table a file most likely fills, from its headers (None: no clue).

    The table with the most indicator columns wins (its missing required columns are then
    reported by name). A file with none, but with a customer id, is a list of customers with
    attributes: a code column named ``Channel`` next to the id (UCI Wholesale) is one of them,
    not the sales channel of order lines, which would also need a date and an amount.

    >>> guess_entity(["customer_id", "Channel", "Region", "Fresh", "Milk"])
    'customers'
    >>> guess_entity(["Channel", "Region", "Fresh"]) is None
    True
    """
    have = {normalize_header(h) for h in headers}

    def found(entity: str) -> set[str]:
        aliases = GENERIC_ALIASES[entity]
        return {c for c in aliases if any(normalize_header(a) in have for a in aliases[c])}

    scores = {e: len(found(e) & set(ind)) for e, ind in INDICATORS.items()}
    best = max(scores.values())
    if best > 0:
        return next(e for e in INDICATORS if scores[e] == best)
    people = found("customers")
    fillable = all(any(a in people for a in alts) for alts in CANONICAL["customers"].required)
    return "customers" if fillable else None


def resolve(
    headers: list[str],
    *,
    entity: str | None,
    fmt_name: str = "auto",
    explicit: dict[str, str] | None = None,
    where: str,
) -> ColumnMapping:
    explicit = dict(explicit or {})
    if entity is not None and entity not in CANONICAL:
        raise SpecError(
            f"'{entity}' is not a table segmint imports into.",
            fix=f"use --as with one of: {', '.join(CANONICAL)}.",
        )
    fmt: SourceFormat | None
    fmt = detect(headers, entity) if fmt_name == "auto" else lookup(fmt_name, entity)
    if entity is None:
        # the canonical names of an explicit mapping are evidence too (a file without header)
        entity = (
            fmt.entity if fmt is not None else guess_entity(headers) or guess_entity(list(explicit))
        )
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
    _check_required(entity, fmt, columns, headers, where)
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
    return ColumnMapping(entity, fmt, columns, extras, explicit)


def _check_required(
    entity: str, fmt: SourceFormat, columns: dict[str, str], headers: list[str], where: str
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
        near = difflib.get_close_matches(
            normalize_header(alts[0]), [normalize_header(h) for h in headers], n=1, cutoff=0.5
        )
        hint = ""
        if near:
            original = next(h for h in headers if normalize_header(h) == near[0])
            hint = f" (is it '{original}'?)"
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


def _shown(headers: list[str], n: int = 12) -> str:
    shown = ", ".join(f"'{h}'" for h in headers[:n])
    return shown + (f" and {len(headers) - n} more" if len(headers) > n else "")
