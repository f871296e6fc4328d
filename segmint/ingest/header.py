"""Does a text file start with a header row, or with data?

A file without a header (CDNOW_sample.txt) would otherwise have its first purchase read as
column names and lose that row. The test is on the kinds of the cells: a header names its
columns with words, so a first row whose every cell has the same kind (number, date, text)
as the values below it, with at least one column of numbers or dates (where a header would
differ), is taken for data. A file of text columns only cannot be told apart; it keeps its
first row as the header.

Spreadsheets often carry a report title and blank rows above the column names;
:func:`header_row` finds the row where the names start.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["cell_kind", "header_row", "looks_headerless", "positional_names"]

_NUMBER = re.compile(r"^[+-]?[$€£]?\s*\d[\d,']*(\.\d+)?([eE][+-]?\d+)?\s*%?$")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?.*)?$")


def cell_kind(cell: str) -> str:
    """The kind of a cell's text: empty, date, number or text."""
    text = cell.strip().strip('"')
    if not text:
        return "empty"
    if _DATE.match(text):
        return "date"
    if _NUMBER.match(text):
        return "number"
    return "text"


def looks_headerless(rows: Sequence[Sequence[str]]) -> bool:
    """True when ``rows[0]`` looks like one more data row rather than column names.

    ``rows`` are the first lines of a file split into cells (at least two rows needed).
    """
    if len(rows) < 2 or not rows[0]:
        return False
    first, data = rows[0], rows[1:]
    typed = False
    for i, cell in enumerate(first):
        kinds = Counter(cell_kind(r[i]) for r in data if i < len(r) and cell_kind(r[i]) != "empty")
        if not kinds:
            return False
        usual = kinds.most_common(1)[0][0]
        if cell_kind(cell) != usual:
            return False
        typed = typed or usual in ("number", "date")
    return typed


def header_row(rows: Sequence[Sequence[str | None]]) -> int:
    """The index of the header among ``rows`` (the first rows of a sheet; None = empty cell).

    The header is the first row that fills at least half of the table's width (the most cells
    any row fills, and at least two when the table is wider than one column), provided its
    cells are text, not numbers or dates, and every row above it is sparse (at most a third of
    the header's cells, at least one: a title, a date line, blank rows). Otherwise the first
    non-empty row is the header, as before.
    """
    filled = [[str(c) for c in r if c is not None and str(c).strip()] for r in rows]
    if not filled:
        return 0
    width = max((len(f) for f in filled), default=0)
    need = max(1 if width == 1 else 2, (width + 1) // 2)
    first = next((i for i, cells in enumerate(filled) if cells), 0)
    wide = next((i for i, cells in enumerate(filled) if len(cells) >= need), first)
    sparse = max(1, len(filled[wide]) // 3)
    if all(cell_kind(c) == "text" for c in filled[wide]) and all(
        len(cells) <= sparse for cells in filled[:wide]
    ):
        return wide
    return first


def positional_names(n: int) -> list[str]:
    """Names of the columns of a file read without header: column_1 … column_n."""
    return [f"column_{i}" for i in range(1, n + 1)]
