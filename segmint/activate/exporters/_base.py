"""The one small interface every audience destination implements.

An :class:`Exporter` is data: the file's columns, each a SQL expression over the export's
``contacts`` (one row per customer of the chosen segments, with contact fields normalized as
:mod:`segmint.activate.contacts` describes), which consent column lets a customer in, what
counts as a usable identifier, the smallest audience the platform takes, and the page that
documents the format. The export itself (:mod:`segmint.activate.export`) is the same for every
destination, so a new destination is one module in this package defining ``EXPORTER``.

Expressions are DuckDB SQL because the engine writes the file (a million rows stream
without passing through Python) and hashes with its own ``sha256`` (lowercase hex, the form
Google and Meta ask for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Column", "Exporter", "sha256_hex", "strip_accents"]

#: ads: an ad platform's audience (ads consent, hashed by default, at least 100 people);
#: email: an e-mail tool's list (e-mail consent, never hashed); file: every field, no filter
Audience = Literal["ads", "email", "file"]


@dataclass(frozen=True)
class Column:
    """One column of the file: its header and the SQL that fills it.

    ``hash``: SHA-256 this column when the export is hashed. ``exact``: the platform
    defines the bytes (a hash, an E.164 phone that already passed a strict pattern): written
    as they are, not behind the spreadsheet-formula guard of :mod:`segmint.store.csvsafe`.
    """

    header: str
    sql: str
    hash: bool = False
    exact: bool = False


@dataclass(frozen=True)
class Exporter:
    """A destination: what its file holds and who may be in it."""

    #: the name users type (``--to google-ads``)
    name: str
    #: the platform's name for the file (shown in help and the log)
    title: str
    audience: Audience
    columns: tuple[Column, ...]
    #: SQL that is true when the row has something the platform can match on
    identifier: str
    #: what ``identifier`` asks for, in words (shown when rows are left out)
    identifier_words: str
    #: the page that documents the format (docs/activation.md cites it)
    source: str
    #: the smallest audience the platform accepts (refused below it unless lowered)
    min_size: int = 1
    #: hashed unless the user asks for plain text (ad platforms); False: never hashed
    hashable: bool = False
    #: several segments go into one file, with the segment in this column (a tag or list)
    segment_column: str | None = None
    #: the message template (subject, body) becomes columns with these headers
    template_columns: tuple[str, str] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def consent(self) -> str | None:
        """The consent column that lets a customer in (None: no filter)."""
        return {"ads": "consent_ads", "email": "consent_email"}.get(self.audience)

    def reads(self) -> set[str]:
        """The contact columns its SQL (columns, identifier) and consent filter name."""
        from segmint.activate.contacts import CONTACT_COLUMNS

        text = " ".join([self.identifier, *(c.sql for c in self.columns)])
        used = {c for c in CONTACT_COLUMNS if re.search(rf"\b{c}\b", text)}
        return used | ({self.consent} if self.consent else set())

    def select(self, *, hashed: bool) -> list[tuple[str, str, bool]]:
        """(header, SQL, exact) of every column, hashed where the platform asks for it."""
        out = []
        for c in self.columns:
            if hashed and c.hash:
                out.append((c.header, sha256_hex(c.sql), True))
            else:
                out.append((c.header, c.sql, c.exact))
        return out


def sha256_hex(sql: str) -> str:
    """SHA-256 (lowercase hex) of a normalized value; a missing or empty value stays empty."""
    return f"sha256(nullif({sql}, ''))"  # sha256(NULL) is NULL: one evaluation of sql


def strip_accents(sql: str) -> str:
    """Letters without their accents (``José`` → ``Jose``), by DuckDB's ``strip_accents``."""
    return f"strip_accents({sql})"
