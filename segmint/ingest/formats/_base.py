"""What a source format is: header aliases plus a few SQL derivations.

A format is data, not code paths: to support a new export, add one module that builds a
:class:`SourceFormat` and register it in ``formats/__init__.py``.

Expressions are DuckDB SQL. ``raw`` transforms see raw source columns (before coercion);
``derive`` and ``override`` see the typed canonical and auxiliary columns by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Aux", "SourceFormat", "as_json", "normalize_header"]


def normalize_header(name: str) -> str:
    """'Customer ID' → 'customerid': case, spaces and punctuation do not matter for matching."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def as_json(col: str, dtype: str) -> str:
    """SQL giving raw column ``col`` (of DuckDB type ``dtype``) as JSON; bad JSON text → NULL."""
    t = dtype.upper()
    if t == "VARCHAR":
        return f"(CASE WHEN json_valid({col}) THEN CAST({col} AS JSON) END)"
    if t == "JSON":
        return col
    return f"to_json({col})"


@dataclass(frozen=True)
class Aux:
    """An input a format needs for a derivation but that is not a canonical column."""

    dtype: str
    aliases: tuple[str, ...]


RawTransform = Callable[[str, str], str]


@dataclass(frozen=True)
class SourceFormat:
    family: str
    entity: str
    title: str
    #: headers typical of this export; the detection score is the share found in a file
    signature: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    aux: Mapping[str, Aux] = field(default_factory=dict)
    #: canonical/aux names whose empty raw values are filled from the same group's first line
    fill_down: tuple[str, ...] = ()
    #: canonical name whose raw column defines the groups for fill_down (e.g. Shopify's Name)
    fill_key: str | None = None
    #: SQL over typed columns for canonical columns the file does not map
    derive: Mapping[str, str] = field(default_factory=dict)
    #: SQL over typed columns applied even when the canonical column is mapped
    override: Mapping[str, str] = field(default_factory=dict)
    #: canonical name -> f(raw column SQL, raw DuckDB type) -> SQL used instead of the raw column
    raw: Mapping[str, RawTransform] = field(default_factory=dict)
    #: how to read zone-less times of this export (None: the --timezone option, default UTC)
    timezone: str | None = None
    min_score: float = 0.5
    #: SQL condition over canonical/aux names (bound to their *raw* mapped values, NULL when
    #: unmapped) that a source row must meet to be imported, e.g. Segment's call type; None
    #: keeps every row. Skipped rows are counted in the run's notes.
    row_filter: str | None = None

    @property
    def name(self) -> str:
        return f"{self.family}:{self.entity}"

    def score(self, headers: list[str]) -> float:
        have = {normalize_header(h) for h in headers}
        sig = [normalize_header(s) for s in self.signature]
        return sum(1 for s in sig if s in have) / len(sig) if sig else 0.0
