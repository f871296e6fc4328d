"""Excel workbooks (.xlsx): which sheet, which row is the header, formulas without results.

Workbooks made by people are not tidy tables. The first sheet may be an empty cover or notes
tab, so without ``--sheet`` the first sheet with cells is read (the result notes the skip). A
report title and blank rows may sit above the column names, so the header is the first row
that fills most of the table's width with text (:func:`segmint.ingest.header.header_row`).
A sheet whose first row is data is refused rather than losing that row to the header.

A formula cell holds its last computed result only if a spreadsheet program saved it; files
written by scripts (openpyxl, many exporters) store the formula alone. The reader sees an
empty cell. Those cells are found in the sheet's XML and reported as
:class:`~segmint.ingest.problems.ValueProblem` (sheet, cell, formula), so they are counted and
gated instead of becoming silent NULLs.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from segmint.exceptions import EmptyInputError, MappingError, UnreadableFileError
from segmint.ingest.header import cell_kind, header_row, looks_headerless
from segmint.ingest.problems import ValueProblem

__all__ = ["Workbook", "read_workbook"]

PREVIEW_ROWS = 30  # rows looked at to find the header
_CELL = re.compile(r"^([A-Z]+)([0-9]+)$")
_FORMULA_TAGS = (b"<f>", b"<f ", b":f>", b":f ")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_FIX = (
    "open the workbook in Excel or LibreOffice and save it, so the formulas' results are "
    "stored, or export the sheet as CSV"
)


@dataclass
class Workbook:
    """One sheet read as text: the Arrow table, its header cells, notes and problem cells."""

    table: Any
    header: list[str]
    sheet: str
    notes: list[str] = field(default_factory=list)
    problems: dict[str, ValueProblem] = field(default_factory=dict)


def read_workbook(path: str, label: str, sheet: str | int | None) -> Workbook:
    """Read the sheet (given, or the first with cells) of the workbook at ``path``."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
        chosen, rows, notes = _choose_sheet(reader, names, label, sheet)
        h = header_row(rows)
        if h > 0:
            above = next((c for r in rows[:h] for c in r if c), "")
            notes.append(
                f"Sheet '{chosen}': the {h} row(s) above the column names (starting "
                f"'{above[:60]}') were skipped as a title."
            )
        if _data_first(rows[h:]):
            raise _headerless(label, chosen, rows[h])
        table = reader.load_sheet(chosen, header_row=h, dtypes="string").to_arrow()
    except (EmptyInputError, MappingError, UnreadableFileError):
        raise
    except Exception as exc:  # fastexcel raises its own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(
            f"The file is a zip archive but not a readable .xlsx workbook ({first[:200]}).",
            where=label,
            fix="open it in Excel or LibreOffice and save it as .xlsx or CSV.",
        ) from None
    header = [c or "" for c in rows[h]]
    book = Workbook(table, header, chosen, notes)
    book.problems = _formula_problems(path, chosen, rows, h, table)
    return book


def _preview(reader: Any, sheet: str) -> list[list[str | None]]:
    """The first rows of ``sheet`` as text cells (None for empty), trailing empty rows kept."""
    frame = reader.load_sheet(sheet, header_row=None, n_rows=PREVIEW_ROWS, dtypes="string")
    if not frame.height or not frame.width:
        return []
    rows = [
        [None if v is None or not str(v).strip() else str(v) for v in r.values()]
        for r in frame.to_arrow().to_pylist()
    ]
    return rows if any(any(r) for r in rows) else []


def _choose_sheet(
    reader: Any, names: list[str], label: str, sheet: str | int | None
) -> tuple[str, list[list[str | None]], list[str]]:
    """The sheet to read, its preview rows, and a note when empty sheets were skipped."""
    listed = ", ".join(map(repr, names))
    if sheet is not None:
        chosen = _named_sheet(names, label, sheet)
        rows = _preview(reader, chosen)
        if not rows:
            raise EmptyInputError(
                f"Sheet '{chosen}' of the workbook is empty; the workbook has sheets {listed}.",
                where=label,
                fix="pass --sheet with the sheet that holds the data (its name or 0-based "
                "position).",
            )
        return chosen, rows, []
    for i, name in enumerate(names):
        rows = _preview(reader, name)
        if rows:
            skipped = names[:i]
            notes = (
                [
                    f"Sheet(s) {', '.join(map(repr, skipped))} are empty; read sheet '{name}' "
                    "(pass --sheet to read another)."
                ]
                if skipped
                else []
            )
            return name, rows, notes
    raise EmptyInputError(
        f"Every sheet of the workbook is empty ({listed}): there is nothing to import.",
        where=label,
        fix="check that the data was saved in this file; export it again.",
    )


def _named_sheet(names: list[str], label: str, sheet: str | int) -> str:
    if isinstance(sheet, str) and sheet.isdigit() and sheet not in names:
        sheet = int(sheet)
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return sheet
    raise UnreadableFileError(
        f"The workbook has no sheet {sheet!r}; it has {', '.join(map(repr, names))}.",
        where=label,
        fix="pass --sheet with one of those names (or its 0-based position).",
    )


def _data_first(rows: list[list[str | None]]) -> bool:
    """Is the first row data? Its cells match the kinds below (as in CSV), or it holds a date
    and two numbers: column names are not dates, and a name that is a number is rare."""
    cells = [[c or "" for c in r] for r in rows]
    if looks_headerless(cells):
        return True
    kinds = Counter(cell_kind(c) for c in cells[0]) if cells else Counter()
    return kinds["date"] >= 1 and kinds["number"] >= 2


def _headerless(label: str, sheet: str, first: list[str | None]) -> MappingError:
    shown = " | ".join(c or "" for c in first[:8]) + (" | …" if len(first) > 8 else "")
    return MappingError(
        f"Sheet '{sheet}' seems to have no header row: its first row ({shown}) holds values "
        "like the rows below it (numbers and dates), not column names. Read as a header, that "
        "row would be lost and the columns misnamed.",
        where=label,
        fix="insert a row of column names above the data and save the workbook; or save the "
        "sheet as CSV and import that with --no-header --columns name1,name2,….",
    )


# --- formulas without a saved result -------------------------------------------------------


def _formula_problems(
    path: str, sheet: str, rows: list[list[str | None]], h: int, table: Any
) -> dict[str, ValueProblem]:
    """Formula cells of ``sheet`` without a cached value, by column of ``table``."""
    try:
        with zipfile.ZipFile(path) as zf:
            member = _sheet_member(zf, sheet)
            if member is None or not _has_formulas(zf, member):
                return {}
            cells, start = _uncached_formulas(zf, member)
    except (zipfile.BadZipFile, ET.ParseError, KeyError, OSError):
        return {}
    if not cells or start is None:
        return {}
    first_row, first_col = start
    header_at = first_row + h  # sheet row number of the header
    names = rows[h]
    columns = {n: table.column(n).to_pylist() for n in table.schema.names}
    out: dict[str, ValueProblem] = {}
    for ref, r, c, formula in cells:
        k, data_row = c - first_col, r - header_at
        name = names[k] if 0 <= k < len(names) else None
        values = columns.get(name or "")
        if data_row < 1 or values is None or data_row > len(values) or values[data_row - 1]:
            continue  # not a cell of the table read (or the reader saw a value after all)
        reason = f"formula without a saved result (sheet '{sheet}', cell {ref}); fix: {_FIX}"
        prob = out.setdefault(str(name), ValueProblem("formula", "", fix=_FIX))
        prob.add(data_row, "=" + formula if formula else "=(shared formula)", reason)
    for prob in out.values():
        refs = [why.split("cell ", 1)[1].split(")", 1)[0] for _r, _v, why in prob.samples[:3]]
        more = ", …" if prob.count > len(refs) else ""
        prob.reason = (
            f"formulas without a saved result (sheet '{sheet}', cells {', '.join(refs)}{more})"
        )
    return out


def _sheet_member(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet``'s cells (xl/worksheets/sheetN.xml)."""
    book = ET.fromstring(zf.read("xl/workbook.xml"))
    rid = None
    for el in book.iter():
        if el.tag.endswith("}sheet") and el.get("name") == sheet:
            rid = el.get(f"{{{_REL_NS}}}id")
    if rid is None:
        return None
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for el in rels.iter():
        if el.get("Id") == rid:
            target = str(el.get("Target", ""))
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _has_formulas(zf: zipfile.ZipFile, member: str) -> bool:
    """A quick byte scan: does the sheet hold any formula element at all?"""
    tail = b""
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            block = tail + chunk
            if any(tag in block for tag in _FORMULA_TAGS):
                return True
            tail = block[-8:]
    return False


def _uncached_formulas(
    zf: zipfile.ZipFile, member: str
) -> tuple[list[tuple[str, int, int, str]], tuple[int, int] | None]:
    """Formula cells without a value ((ref, row, column, formula)), and the first filled cell."""
    found: list[tuple[str, int, int, str]] = []
    first_row = first_col = None
    with zf.open(member) as fh:
        for _event, el in ET.iterparse(fh, events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "row":
                el.clear()
                continue
            if tag != "c":
                continue
            m = _CELL.match(el.get("r", ""))
            if not m:
                continue
            r, c = int(m.group(2)), _column_number(m.group(1))
            kids = {k.tag.rsplit("}", 1)[-1]: k for k in el}
            v = kids.get("v")
            has_value = (v is not None and bool(v.text)) or "is" in kids
            if has_value:
                first_row = r if first_row is None else min(first_row, r)
                first_col = c if first_col is None else min(first_col, c)
            elif "f" in kids:
                found.append((m.group(0), r, c, kids["f"].text or ""))
    start = (first_row, first_col) if first_row is not None and first_col is not None else None
    return found, start


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
