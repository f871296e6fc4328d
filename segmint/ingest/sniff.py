"""Decide what a source is (CSV, Parquet, Excel, JSON, a database URL) before reading it.

The content decides, not the extension alone: magic bytes for Parquet, Excel (zip), gzip,
SQLite and legacy .xls; text sniffing for delimiters, encodings and whitespace-aligned tables.
Empty files and binary garbage are refused here, before the workspace is touched.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from segmint.exceptions import EmptyInputError, UnreadableFileError
from segmint.ingest.encoding import Repaired, decode_lines
from segmint.ingest.header import looks_headerless
from segmint.ingest.inflation import gzip_damaged
from segmint.ingest.limits import check_width

__all__ = ["Source", "sniff"]

SAMPLE_BYTES = 1 << 20
KINDS = ("csv", "whitespace", "parquet", "excel", "json", "sqlite", "postgres")
_URL_SCHEMES = {
    "sqlite": "sqlite",
    "postgres": "postgres",
    "postgresql": "postgres",
    "postgresql+psycopg": "postgres",
}


@dataclass
class Source:
    """A sniffed input: its kind plus what the reader needs (encoding, delimiter, …)."""

    location: str
    kind: str
    size: int = 0
    encoding: str = "utf-8"
    delimiter: str | None = None
    compression: str | None = None
    header: list[str] | None = None
    #: the first row looks like data, not column names (see :mod:`segmint.ingest.header`)
    headerless: bool = False
    #: lines of a mixed-encoding file read as Windows-1252 (see :mod:`segmint.ingest.encoding`)
    repaired: Repaired | None = None

    @property
    def label(self) -> str:
        return (
            Path(self.location).name if self.kind not in ("sqlite", "postgres") else self.location
        )


def sniff(
    location: str,
    *,
    kind: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Source:
    """Classify ``location`` (a path or a database URL) and refuse what cannot be data."""
    scheme = urlparse(location).scheme.lower() if "://" in location else ""
    if scheme:
        if scheme not in _URL_SCHEMES:
            raise UnreadableFileError(
                f"'{location}' is a URL with scheme '{scheme}', which segmint cannot read.",
                fix="pass a file path, or a database URL starting with sqlite:/// or "
                "postgresql://user:password@host/db (add ?table=NAME or --table NAME).",
            )
        return Source(location, _URL_SCHEMES[scheme])
    path = Path(location)
    if not path.exists():
        raise UnreadableFileError(
            f"There is no file at '{location}'.",
            fix="check the path (relative paths start from the current folder).",
        )
    if path.is_dir():
        raise UnreadableFileError(
            f"'{location}' is a folder, not a file.",
            fix="pass one file; to import several, run segmint ingest once per file or list "
            "them as sources in a spec.",
        )
    _check_regular(path, location)
    size = path.stat().st_size
    if size == 0:
        raise EmptyInputError(
            "The file is empty (0 bytes): there is nothing to import.",
            where=str(location),
            fix="export the data again; check that the export finished before copying the file.",
        )
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    src = Source(str(location), "csv", size=size)
    if kind:
        src.kind = kind
    elif head.startswith(b"PAR1"):
        src.kind = "parquet"
    elif head.startswith(b"PK\x03\x04"):
        src.kind = "excel"
    elif head.startswith(b"SQLite format 3\x00"):
        src.kind = "sqlite"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFileError(
            "This is a legacy Excel 97-2003 workbook (.xls), which segmint does not read.",
            where=str(location),
            fix="open it in Excel or LibreOffice and save it as .xlsx or CSV, then import that.",
        )
    elif head.startswith(b"\x1f\x8b"):
        src.compression = "gzip"
        src.kind = "csv"
        import gzip

        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(SAMPLE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise gzip_damaged(src.label, exc) from None
    if src.kind in ("parquet", "excel", "sqlite"):
        return src
    text = _decode(head, location, encoding)
    src.encoding = encoding or text[1]
    sample = text[0]
    if not sample.strip():
        raise EmptyInputError(
            "The file holds only blank space: there is nothing to import.",
            where=str(location),
            fix="export the data again; check that the export finished before copying the file.",
        )
    stripped = sample.lstrip("\ufeff \t\r\n")
    named_json = location.lower().endswith((".json", ".ndjson", ".jsonl"))
    if kind is None and (stripped[:1] in ("{", "[") or named_json):
        src.kind = "json"
        return src
    if src.kind == "csv":
        _sniff_text_table(src, sample, delimiter)
        check_width(len(src.header or []), src.label)
    return src


def _check_regular(path: Path, location: str) -> None:
    """Refuse a named pipe, socket or device before opening it (reading one can block forever)."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
    raise UnreadableFileError(
        f"'{location}' is {what}, not a regular file: segmint needs a file it can read more "
        "than once (to detect the format, then to import it).",
        where=str(location),
        fix="save the data to a file first, e.g. zcat export.csv.gz > export.csv, then import "
        "that file (a .csv.gz file can also be imported as it is).",
    )


def _decode(head: bytes, location: str, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return head.decode(encoding, errors="replace"), encoding
        except LookupError:
            raise UnreadableFileError(
                f"'{encoding}' is not an encoding Python knows.",
                fix="use utf-8, utf-8-sig, latin-1 (iso-8859-1) or cp1252.",
            ) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFileError(
            "The file is encoded as UTF-16, which segmint reads only after conversion.",
            where=location,
            fix="re-save it as UTF-8 CSV (Excel: 'CSV UTF-8'), or convert with "
            "iconv -f UTF-16 -t UTF-8 in.csv > out.csv.",
        )
    nul = head.count(b"\x00")
    control = sum(1 for b in head[:65536] if b < 9 or 13 < b < 32)
    if nul or control > 0.01 * min(len(head), 65536):
        raise UnreadableFileError(
            "The file is binary, not text, CSV, JSON, Parquet or Excel: its first bytes hold "
            f"{nul + control} control characters.",
            where=location,
            fix="check that this is the export you meant; segmint reads CSV/TSV, Parquet, "
            ".xlsx, JSON/NDJSON and SQL databases (sqlite:///file.db).",
        )
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sample
            return head[: exc.start].decode("utf-8"), "utf-8"
        return decode_lines(head), "latin-1"


_WS_SPLIT = re.compile(r"\s+")


def _sniff_text_table(src: Source, sample: str, delimiter: str | None) -> None:
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if len(lines) < 1:
        return
    if delimiter is None and _looks_whitespace_aligned(lines):
        src.kind = "whitespace"
        rows = [_WS_SPLIT.split(ln.strip()) for ln in lines]
        src.header = rows[0]
        src.headerless = looks_headerless(rows)
        return
    src.delimiter = delimiter
    delim = delimiter or _guess_delimiter(lines)
    first = lines[0].lstrip("\ufeff")
    try:
        src.header = next(csv.reader(io.StringIO(first), delimiter=delim))
        rows = list(csv.reader(io.StringIO("\n".join([first, *lines[1:]])), delimiter=delim))
        src.headerless = looks_headerless(rows)
    except (csv.Error, StopIteration):  # pragma: no cover - csv.reader is permissive
        src.header = [first]


def _guess_delimiter(lines: list[str]) -> str:
    best, best_score = ",", -1.0
    for d in (",", ";", "\t", "|"):
        counts = [ln.count(d) for ln in lines[:20]]
        if not counts or counts[0] == 0:
            continue
        same = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = same * 10 + counts[0] / 100
        if score > best_score:
            best, best_score = d, score
    return best


def _looks_whitespace_aligned(lines: list[str]) -> bool:
    """True for tables separated by runs of spaces (CDNOW's format), not by , ; tab or |."""
    if any(d in ln for ln in lines for d in (",", ";", "\t", "|", '"')):
        return False
    widths = {len(_WS_SPLIT.split(ln.strip())) for ln in lines}
    return len(widths) == 1 and widths.pop() >= 2
