"""Audience destinations: one module per platform, discovered automatically.

Each module in this package defines ``EXPORTER``, an :class:`Exporter` (its columns as SQL
over the normalized contacts, its consent column, its identifier rule, its minimum size and
the page that documents the format). Adding a destination is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from segmint.activate.exporters._base import Column, Exporter, sha256_hex, strip_accents
from segmint.exceptions import ExportError

__all__ = ["Column", "Exporter", "all_exporters", "lookup", "sha256_hex", "strip_accents"]


@cache
def all_exporters() -> dict[str, Exporter]:
    """Every destination by its name (``google-ads``, ``meta``, …), in name order."""
    found: dict[str, Exporter] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        exporter = getattr(importlib.import_module(f"{__name__}.{mod.name}"), "EXPORTER", None)
        if isinstance(exporter, Exporter):
            found[exporter.name] = exporter
    return dict(sorted(found.items()))


def lookup(name: str) -> Exporter:
    """The destination ``name``; an error lists the ones that exist."""
    found = all_exporters().get(name.strip().lower())
    if found is None:
        raise ExportError(
            f"There is no export destination '{name}'.",
            fix=f"use one of: {', '.join(all_exporters())}.",
        )
    return found
