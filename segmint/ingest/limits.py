"""The bounds ingest keeps on hostile or very wide input (listed in docs/security.md).

A source is refused, with the numbers, rather than allowed to exhaust memory or time:
DuckDB plans one statement in time that grows faster than linearly with the number of
expressions in it, so per-column work is done in batches and very wide files are refused.
"""

from __future__ import annotations

from segmint.exceptions import InputError

__all__ = [
    "EXCERPT_CHARS",
    "EXTRA_BATCH",
    "INFER_SAMPLE_ROWS",
    "MAX_COLUMNS",
    "MAX_NAME_CHARS",
    "NAME_CHARS",
    "check_names",
    "check_width",
    "excerpt",
]

#: the most columns a source may have. CRM and survey exports have hundreds; at 2,000 a
#: 20-row file took 780 MB (DuckDB writes a block per column when it checkpoints), so
#: 1,000 keeps an import of any width well under 1 GB
MAX_COLUMNS = 1_000
#: columns typed per SQL statement (type inference, checks, typed extra attributes)
EXTRA_BATCH = 100
#: rows sampled to infer the type of an extra column; every row is then checked against it
INFER_SAMPLE_ROWS = 20_000
#: the longest piece of a source line or value an error message quotes
EXCERPT_CHARS = 200
#: the longest column name a message quotes (a header cell can be a megabyte long)
NAME_CHARS = 60
#: the longest column name a source may have: a longer "name" is data read as a header
MAX_NAME_CHARS = 255


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with '…' and the full length when cut.

    >>> excerpt("abcdef", 3)
    'abc… (6 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def check_width(n_columns: int, where: str) -> None:
    """Refuse a source with more than :data:`MAX_COLUMNS` columns, before it is read."""
    if n_columns > MAX_COLUMNS:
        raise InputError(
            f"The file has {n_columns:,} columns; segmint imports at most {MAX_COLUMNS:,} "
            "columns from one source (wider files would take more memory and time than an "
            "import may use). Nothing was imported.",
            where=where,
            fix="export only the columns you need (most tools let you pick them), or split "
            "the file into several with the id column in each and import them one by one "
            "(extra columns are added to the same table).",
        )


def check_names(names: list[str], where: str) -> None:
    """Refuse column names longer than :data:`MAX_NAME_CHARS` (data read as a header)."""
    for i, name in enumerate(names, start=1):
        if len(name) > MAX_NAME_CHARS:
            raise InputError(
                f"Column {i}'s name is {len(name):,} characters long ('{excerpt(name, NAME_CHARS)}'); "
                f"segmint accepts names of up to {MAX_NAME_CHARS} characters. Such a header is "
                "usually data: the file has no header row, or the delimiter was not recognised. "
                "Nothing was imported.",
                where=where,
                fix="add a header row with short names, or pass --no-header --columns "
                "name1,name2,… ; check --delimiter.",
            )
