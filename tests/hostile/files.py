"""One function per hostile file: ``make(folder) -> path`` writes it and returns its path.

The orders files share one small valid shape (``ORDER_HEADER``) with a few planted bad rows,
so that a correct reader can import the rest and count the bad ones. ``seed`` writes the
valid customers and orders the workspace holds before each hostile import.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "amount", "quantity", "product_name"]
CUSTOMERS = [f"C{i:03d}" for i in range(1, 41)]


def _row(i: int, prefix: str = "H") -> list[str]:
    rnd = random.Random(i)
    day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return [f"{prefix}{i:05d}", CUSTOMERS[i % 40], day, f"{rnd.uniform(5, 200):.2f}", "1", "Mug"]


def _csv(rows: list[list[str]], header: list[str] = ORDER_HEADER) -> str:
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


def _orders(n: int = 60, bad: dict[int, dict[str, str]] | None = None) -> list[list[str]]:
    """``n`` valid order lines; ``bad`` replaces fields of some lines: {line: {column: value}}."""
    rows = [_row(i) for i in range(n)]
    for line, fields in (bad or {}).items():
        for column, value in fields.items():
            rows[line][ORDER_HEADER.index(column)] = value
    return rows


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def seed(folder: Path) -> tuple[Path, Path]:
    """Valid customers and orders (40 customers, 2023-2024) for the workspace under test."""
    customers = _text(
        folder / "customers.csv",
        _csv(
            [[c, f"{c.lower()}@example.com", "DE"] for c in CUSTOMERS],
            ["customer_id", "email", "country"],
        ),
    )
    rnd = random.Random(0)
    rows = [_row(i, "S") for i in range(240)]
    for row in rows:  # a few loyal customers, many occasional ones, spread over two years
        row[1] = CUSTOMERS[min(39, int(rnd.expovariate(1 / 10)))]
        row[2] = f"{rnd.choice((2023, 2024))}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    return customers, _text(folder / "orders.csv", _csv(rows))


# --- emptiness and encodings -------------------------------------------------------------


def empty(d: Path) -> Path:
    return _text(d / "empty.csv", "")


def header_only(d: Path) -> Path:
    return _text(d / "header.csv", ",".join(ORDER_HEADER) + "\n")


def blank_header(d: Path) -> Path:
    """A header of blank names above valid data."""
    return _text(d / "blankhead.csv", _csv(_orders(20), [" ", "", "\t", " ", "", "  "]))


def utf16_bom(d: Path) -> Path:
    path = d / "utf16.csv"
    path.write_bytes(_csv(_orders(30)).encode("utf-16"))
    return path


def utf16_no_bom(d: Path) -> Path:
    path = d / "utf16le.csv"
    path.write_bytes(_csv(_orders(30)).encode("utf-16-le"))
    return path


def mixed_encodings(d: Path) -> Path:
    """58 UTF-8 lines 'Café Müller' and two Latin-1 lines of the same text."""
    rows = _orders(60, {i: {"product_name": "Café Müller"} for i in range(60)})
    lines = [
        ",".join(r).encode("latin-1" if i in (20, 40) else "utf-8") for i, r in enumerate(rows)
    ]
    path = d / "mixed.csv"
    path.write_bytes(b"\n".join([",".join(ORDER_HEADER).encode(), *lines]) + b"\n")
    return path


def latin1_after_1mb(d: Path) -> Path:
    """Over 1 MB of UTF-8 'Café' lines, then one Latin-1 line."""
    rows = _orders(20_000, {i: {"product_name": "Café Müller"} for i in range(20_000)})
    body = _csv(rows).encode("utf-8")
    path = d / "late_latin1.csv"
    path.write_bytes(body + b"L99999,C001,2024-03-03,9.50,1,Caf\xe9 M\xfcller\n")
    return path


def nul_bytes(d: Path) -> Path:
    rows = _orders(40, {5: {"product_name": "Mu\x00g"}})
    return _text(d / "nul.csv", _csv(rows))


# --- sizes and widths --------------------------------------------------------------------


def one_mb_line(d: Path) -> Path:
    """A 1 MB file without a single line break."""
    return _text(d / "oneline.csv", "x," * (1 << 19))


def long_field(d: Path) -> Path:
    """A valid file with one 5 MB product name."""
    return _text(d / "longfield.csv", _csv(_orders(40, {3: {"product_name": "M" * (5 << 20)}})))


def wide_10000(d: Path) -> Path:
    """10,000 columns × 20 rows: a survey export."""
    header = ["customer_id", *(f"q{i}" for i in range(9_999))]
    rows = [[CUSTOMERS[r], *(str((r * i) % 7) for i in range(9_999))] for r in range(20)]
    return _text(d / "wide.csv", _csv(rows, header))


def int_columns_500(d: Path) -> Path:
    """500 whole-number columns × 20 rows."""
    header = ["customer_id", *(f"n{i}" for i in range(500))]
    rows = [[CUSTOMERS[r], *(str(r + i) for i in range(500))] for r in range(20)]
    return _text(d / "ints500.csv", _csv(rows, header))


# --- names -------------------------------------------------------------------------------


def duplicate_columns(d: Path) -> Path:
    return _text(d / "dupcols.csv", _csv(_orders(20), [*ORDER_HEADER[:-1], "amount"]))


def hostile_column_names(d: Path) -> Path:
    """Extra columns named with quotes, a line break and SQL."""
    header = [*ORDER_HEADER, '"say ""hi"""', '"line\nbreak"', '"; DROP TABLE orders; --"']
    return _text(d / "names.csv", _csv([[*r, "1", "2", "3"] for r in _orders(30)], header))


def formula_ids(d: Path) -> Path:
    """Customer ids that a spreadsheet would run as formulas."""
    ids = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", '"=HYPERLINK(""http://x"")"']
    rows = _orders(40, {i: {"customer_id": ids[i % len(ids)]} for i in range(0, 40, 4)})
    return _text(d / "formulas.csv", _csv(rows))


# --- structure of text files -------------------------------------------------------------


def ragged_rows(d: Path) -> Path:
    """Two of 60 lines with an extra field, one with a missing field."""
    lines = _csv(_orders(60)).splitlines()
    lines[10] += ",surplus"
    lines[30] += ",surplus"
    lines[50] = lines[50].rsplit(",", 1)[0]
    return _text(d / "ragged.csv", "\n".join(lines) + "\n")


def unclosed_quote(d: Path) -> Path:
    """A quote opened in the third-last of 40 lines and never closed."""
    return _text(d / "unclosed.csv", _csv(_orders(40, {37: {"product_name": '"Mug'}})))


# --- numbers and dates -------------------------------------------------------------------


def infinite_prices(d: Path) -> Path:
    """inf, -inf, 1e999, Infinity and NaN amounts in 5 of 120 lines."""
    values = ["inf", "-inf", "1e999", "Infinity", "NaN"]
    return _text(
        d / "inf.csv", _csv(_orders(120, {i * 20: {"amount": v} for i, v in enumerate(values)}))
    )


def huge_number(d: Path) -> Path:
    """A 5,000-digit amount in one of 60 lines."""
    return _text(d / "huge.csv", _csv(_orders(60, {7: {"amount": "9" * 5_000}})))


def negative_quantities(d: Path) -> Path:
    """Returns written as negative quantities and amounts."""
    bad = {i: {"quantity": "-2", "amount": "-19.90"} for i in range(0, 60, 10)}
    return _text(d / "negative.csv", _csv(_orders(60, bad)))


def far_dates(d: Path) -> Path:
    """Orders dated 9999-12-31 and 0001-01-01 in 2 of 60 lines."""
    bad = {5: {"ordered_at": "9999-12-31"}, 9: {"ordered_at": "0001-01-01"}}
    return _text(d / "fardates.csv", _csv(_orders(60, bad)))


def impossible_dates(d: Path) -> Path:
    """2023-02-30 and 2023-13-01 in 2 of 60 lines."""
    bad = {4: {"ordered_at": "2023-02-30"}, 8: {"ordered_at": "2023-13-01"}}
    return _text(d / "impossible.csv", _csv(_orders(60, bad)))


def mixed_date_formats(d: Path) -> Path:
    formats = ["2024-01-05", "05/01/2024", "Jan 5 2024", "20240105", "5.1.2024"]
    bad = {i: {"ordered_at": formats[i % len(formats)]} for i in range(60)}
    return _text(d / "mixeddates.csv", _csv(_orders(60, bad)))


def epoch_dates(d: Path) -> Path:
    """Order times as Unix epoch seconds (2024)."""
    bad = {i: {"ordered_at": str(1_704_067_200 + i * 86_400)} for i in range(60)}
    return _text(d / "epoch.csv", _csv(_orders(60, bad)))


# --- Excel -------------------------------------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list[object]]], merge: str | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)
    wb.save(path)
    return path


def _xl_orders(n: int = 30) -> list[list[object]]:
    return [ORDER_HEADER, *([r[0], r[1], r[2], float(r[3]), 1, r[5]] for r in _orders(n))]


def excel_empty_first_sheet(d: Path) -> Path:
    return _workbook(d / "emptyfirst.xlsx", {"Notes": [], "Orders": _xl_orders()})


def excel_title_row(d: Path) -> Path:
    title: list[list[object]] = [["Orders export, all shops, 2024"], []]
    return _workbook(d / "titled.xlsx", {"Orders": title + _xl_orders()})


def excel_formulas_without_values(d: Path) -> Path:
    """Two of 40 amounts are formulas never calculated (openpyxl stores no cached value)."""
    rows = _xl_orders(40)
    rows[5][3] = "=2*5+0.5"
    rows[25][3] = "=SUM(D2:D4)"
    return _workbook(d / "formulas.xlsx", {"Orders": rows})


def excel_merged_cells(d: Path) -> Path:
    """Merged cells across the product names of the first rows."""
    return _workbook(d / "merged.xlsx", {"Orders": _xl_orders()}, merge="F2:F6")


def xlsx_really_csv(d: Path) -> Path:
    return _text(d / "orders.xlsx", _csv(_orders(30)))


def corrupt_zip(d: Path) -> Path:
    whole = _workbook(d / "whole.xlsx", {"Orders": _xl_orders()}).read_bytes()
    path = d / "truncated.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    return path


# --- compression -------------------------------------------------------------------------


def gzip_bomb(d: Path) -> Path:
    """About 750 kB of gzip that inflates to 300 MB of one repeated order line.

    One compressed member repeated: a gzip file may hold several, and readers join them.
    """
    chunk = b"B1,C001,2024-02-02,5.00,1,Mug\n" * (1 << 15)
    member = gzip.compress(chunk, compresslevel=9)
    path = d / "bomb.csv.gz"
    with path.open("wb") as fh:
        fh.write(gzip.compress((",".join(ORDER_HEADER) + "\n").encode()))
        for _ in range((300 << 20) // len(chunk)):
            fh.write(member)
    return path


def gzip_corrupt(d: Path) -> Path:
    data = gzip.compress(_csv(_orders(2_000)).encode())
    path = d / "corrupt.csv.gz"
    path.write_bytes(data[: len(data) // 2] + os.urandom(256))
    return path


# --- JSON and Parquet structure ----------------------------------------------------------


def json_scalar(d: Path) -> Path:
    return _text(d / "scalar.json", "42\n")


def json_list_of_lists(d: Path) -> Path:
    return _text(d / "lists.json", json.dumps([ORDER_HEADER, *_orders(20)]))


def json_deep(d: Path) -> Path:
    return _text(d / "deep.json", "[" * 10_000 + "]" * 10_000)


def json_duplicate_keys(d: Path) -> Path:
    rows = [dict(zip(ORDER_HEADER, r, strict=True)) for r in _orders(20)]
    text = ",".join(json.dumps(r)[:-1] + ', "amount": "-1"}' for r in rows)
    return _text(d / "dupkeys.json", f"[{text}]")


def _parquet(path: Path, extra: dict[str, object]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _orders(30)
    columns = {name: [r[i] for r in rows] for i, name in enumerate(ORDER_HEADER)}
    table = pa.table({**columns, **extra})
    pq.write_table(table, path)
    return path


def parquet_nested(d: Path) -> Path:
    import pyarrow as pa

    struct = pa.array([{"street": f"{i} Main St", "zip": i} for i in range(30)])
    lists = pa.array([[i, i + 1] for i in range(30)])
    return _parquet(d / "nested.parquet", {"address": struct, "tags": lists})


def parquet_null_column(d: Path) -> Path:
    import pyarrow as pa

    path = _parquet(d / "nulls.parquet", {"discount": pa.nulls(30)})
    return path


# --- links, pipes and odd paths ----------------------------------------------------------


def symlink_passwd(d: Path) -> Path:
    link = d / "passwd.csv"
    link.symlink_to("/etc/passwd")
    return link


def symlink_outside(d: Path) -> Path:
    """A link to a valid orders file in another folder."""
    elsewhere = d.parent / f"{d.name}-elsewhere"
    elsewhere.mkdir()
    target = _text(elsewhere / "real.csv", _csv(_orders(30)))
    link = d / "linked.csv"
    link.symlink_to(target)
    return link


def fifo(d: Path) -> Path:
    path = d / "pipe.csv"
    os.mkfifo(path)
    return path


def folder_named_like_file(d: Path) -> Path:
    path = d / "orders2.csv"
    path.mkdir()
    _text(path / "inside.csv", _csv(_orders(5)))
    return path


def unreadable(d: Path) -> Path:
    path = _text(d / "secret.csv", _csv(_orders(20)))
    path.chmod(0)
    return path


def odd_name(d: Path) -> Path:
    """Only a header, in a file whose name holds accents, a line break and a symbol."""
    return _text(d / "Bestellungen ä\nneu ✓.csv", ",".join(ORDER_HEADER) + "\n")


def odd_name_valid(d: Path) -> Path:
    return _text(d / "Ümlaut\tcommandes été.csv", _csv(_orders(30)))
