"""Source formats: one module per export family, discovered automatically.

Each module in this package defines ``FORMATS``, a tuple of :class:`SourceFormat` (one per
canonical table the export can fill). Adding an export is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from segmint.exceptions import SpecError
from segmint.ingest.formats._base import Aux, SourceFormat, normalize_header
from segmint.ingest.formats.generic import GENERIC_ALIASES, INDICATORS, generic

__all__ = [
    "GENERIC_ALIASES",
    "INDICATORS",
    "Aux",
    "SourceFormat",
    "all_formats",
    "detect",
    "families",
    "generic",
    "lookup",
    "normalize_header",
]


@cache
def all_formats() -> tuple[SourceFormat, ...]:
    found: list[SourceFormat] = []
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_") or mod.name == "generic":
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        found.extend(getattr(module, "FORMATS", ()))
    return tuple(found)


def families() -> list[str]:
    return sorted({f.family for f in all_formats()})


def lookup(family: str, entity: str | None) -> SourceFormat:
    """The format for ``family`` (e.g. 'shopify') and table; errors list what exists."""
    if family == "generic":
        return generic(entity or "orders")
    matches = [f for f in all_formats() if f.family == family]
    if not matches:
        raise SpecError(
            f"Unknown format '{family}'.",
            fix=f"use one of: auto, generic, {', '.join(families())}.",
        )
    if entity:
        for f in matches:
            if f.entity == entity:
                return f
        raise SpecError(
            f"The {family} format has no '{entity}' export.",
            fix=f"use --as {' or --as '.join(f.entity for f in matches)}, or --format generic.",
        )
    return matches[0]


def detect(headers: list[str], entity: str | None = None) -> SourceFormat | None:
    """The best-scoring known export for these headers, or None."""
    best: SourceFormat | None = None
    best_score = 0.0
    for f in all_formats():
        if entity and f.entity != entity:
            continue
        s = f.score(headers)
        if s >= f.min_score and s > best_score:
            best, best_score = f, s
    return best
