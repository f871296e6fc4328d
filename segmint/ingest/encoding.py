"""Files that are not all UTF-8: read every line the way it was written, and say which.

Exports stitched together from several systems mix encodings: most lines UTF-8, some written
by a Windows tool in Windows-1252 (``Café`` as the single byte ``0xE9``). Reading such a file
in one encoding garbles the other lines without a trace (``CafÃ© MÃ¼ller``), so the file is
looked at line by line:

* every line valid UTF-8: the file is UTF-8 (DuckDB reads it directly, nothing to do here);
* no line with non-ASCII UTF-8 at all, but some lines invalid: a single-byte file, read
  whole as Windows-1252 (with a note). That is Latin-1 plus the printable characters Windows
  puts at 0x80-0x9F (€ ’ “ ”), which DuckDB's own Latin-1 reader refuses;
* both (a **mixed** file): each line that is not valid UTF-8 is decoded as Windows-1252
  (Latin-1 for the five bytes cp1252 leaves undefined). For a line that is invalid UTF-8 that
  reading is unambiguous, and it is what Excel and other Windows tools write. The repaired
  lines are counted and listed (line and row numbers) in the import's notes and the quality
  report; valid UTF-8 lines are never re-decoded. ``--encoding`` overrides all of this.

Either way a UTF-8 copy is written, to a temporary folder that is removed right after
DuckDB has read it.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import BinaryIO, cast

__all__ = ["REPAIR_SAMPLE", "Repaired", "decode_lines", "repaired_copy"]

#: repaired lines listed (with their text) per file; all are counted
REPAIR_SAMPLE = 200
_CHUNK = 1 << 20


@dataclass
class Repaired:
    """The lines of a mixed file that were read as Windows-1252."""

    count: int = 0
    #: lines that hold non-ASCII UTF-8 (with ``count``: the file mixes encodings)
    utf8: int = 0
    #: (file line, record number, repaired text) of the first REPAIR_SAMPLE repaired lines
    sample: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return bool(self.count and self.utf8)

    def lines(self, n: int = 8) -> str:
        shown = ", ".join(str(line) for line, _rec, _text in self.sample[:n])
        return shown + (f" … ({self.count:,} lines)" if self.count > n else "")


def _open(path: str, compression: str | None) -> BinaryIO:
    return cast(BinaryIO, gzip.open(path, "rb") if compression == "gzip" else open(path, "rb"))


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    """Whole lines, about _CHUNK bytes at a time."""
    rest = b""
    while block := fh.read(_CHUNK):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest = block
            continue
        rest = block[cut:]
        yield block[:cut]
    if rest:
        yield rest


def _lines(chunk: bytes) -> list[bytes]:
    """The lines of ``chunk`` with their b'\\n' (a lone b'\\r' does not end a line)."""
    parts = chunk.split(b"\n")
    last = parts.pop()
    return [p + b"\n" for p in parts] + ([last] if last else [])


def _valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(line: bytes) -> str:
    return line.decode("cp1252", "segmint-latin1")


def decode_lines(data: bytes) -> str:
    """``data`` decoded line by line: UTF-8 where valid, else Windows-1252."""
    return "".join(ln.decode("utf-8") if _valid(ln) else _decode(ln) for ln in _lines(data))


@contextmanager
def repaired_copy(path: str, compression: str | None, name: str) -> Iterator[tuple[str, Repaired]]:
    """A UTF-8 copy of a mixed file (lines not UTF-8 read as cp1252), removed on exit."""
    found = Repaired()
    with TemporaryDirectory(prefix="segmint-encoding-") as tmp:
        out_path = Path(tmp) / (Path(name).stem + ".csv")
        with _open(path, compression) as fh, out_path.open("wb") as out:
            _copy(fh, out, found)
        yield str(out_path), found


#: the start of a multi-byte UTF-8 character: a chunk without one has no UTF-8 line to keep
#: (a chunk with one goes line by line, which decides exactly)
_UTF8_SEQ = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_NON_ASCII_LINE = re.compile(rb"^[^\n]*[\x80-\xff]", re.M)


def _latin1(exc: UnicodeError) -> tuple[str, int]:
    """Bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as Latin-1."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("segmint-latin1", _latin1)


@dataclass
class _State:
    line: int = 0  # file lines so far
    in_quotes: bool = False
    #: records (non-blank lines outside quoted fields) so far; kept while lines are listed
    records: int = 0


def _copy(fh: BinaryIO, out: io.BufferedWriter | BinaryIO, found: Repaired) -> None:
    st = _State()
    for chunk in _chunks(fh):
        listing = len(found.sample) < REPAIR_SAMPLE
        if chunk.isascii() or _valid(chunk):
            out.write(chunk)
            found.utf8 += not chunk.isascii()
            if listing:
                _count_records(chunk, st)
            st.line += chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        elif not listing and not _UTF8_SEQ.search(chunk):
            # every non-ASCII line here is not UTF-8, and the listed ones are already found
            out.write(chunk.decode("cp1252", "segmint-latin1").encode("utf-8"))
            found.count += len(_NON_ASCII_LINE.findall(chunk))
            st.line += chunk.count(b"\n") + (not chunk.endswith(b"\n"))
        else:
            _copy_lines(chunk, out, found, st)


def _count_records(chunk: bytes, st: _State) -> None:
    for line in _lines(chunk):
        if line.count(b'"') % 2:
            st.in_quotes = not st.in_quotes
        if not st.in_quotes and line.strip():
            st.records += 1


def _copy_lines(
    chunk: bytes, out: io.BufferedWriter | BinaryIO, found: Repaired, st: _State
) -> None:
    """Line by line: valid UTF-8 kept as it is, other lines decoded as Windows-1252."""
    for line in _lines(chunk):
        st.line += 1
        record = st.records + 1  # the record this line starts or continues
        _count_records(line, st)
        if line.isascii() or _valid(line):
            out.write(line)
            found.utf8 += not line.isascii()
            continue
        fixed = _decode(line)
        out.write(fixed.encode("utf-8"))
        found.count += 1
        if len(found.sample) < REPAIR_SAMPLE:
            found.sample.append((st.line, record, fixed.rstrip("\r\n")))
