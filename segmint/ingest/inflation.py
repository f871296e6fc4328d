"""How far a compressed source may unpack: bounded before anything reads it whole.

A gzip CSV or JSON, the zip inside an .xlsx and Parquet's column chunks can unpack to far more
than their size (an analyst's 3.8 MB ``.csv.gz`` unpacked to 3.2 GB; 750 kB of one repeated
line to 300 MB). A source may unpack to at most ``max_bytes`` (:data:`MAX_INFLATED_BYTES`)
and, once :data:`INFLATE_RATIO_FLOOR` bytes have come out, to at most
:data:`MAX_INFLATE_RATIO` times the packed bytes read so far. Files are unpacked as a stream
and only as far as needed to tell, so a bomb is refused after a few MB; Parquet is judged by
the sizes its footer declares. ``segmint ingest`` and the server's uploads share this check
(the server words its refusal as a 413, see :mod:`segmint.api.inflation`).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from segmint.exceptions import InputError, UnreadableFileError

__all__ = [
    "INFLATE_RATIO_FLOOR",
    "MAX_INFLATED_BYTES",
    "MAX_INFLATE_RATIO",
    "InflationError",
    "check_inflation",
    "gzip_damaged",
    "mb",
]

#: the most bytes a compressed source may unpack to (the server's ``--max-inflated-mb``)
MAX_INFLATED_BYTES = 1024 * 1024 * 1024
#: the highest unpacked ÷ packed ratio, checked once this much has been unpacked
MAX_INFLATE_RATIO = 100
INFLATE_RATIO_FLOOR = 16 * 1024 * 1024
_CHUNK = 1 << 20


class InflationError(InputError):
    """A compressed source unpacks past a limit; ``found`` says how far, ``max_bytes`` the cap."""

    def __init__(self, path: Path, found: str, max_bytes: int | None) -> None:
        self.found = found
        self.max_bytes = max_bytes
        cap = "" if max_bytes is None else f"to at most {mb(max_bytes)} and "
        super().__init__(
            f"This compressed file is too large once unpacked: {found}. segmint imports "
            f"compressed files that unpack {cap}to at most "
            f"{MAX_INFLATE_RATIO} times their compressed size (real exports unpack to 3 to "
            "20 times theirs). Nothing was imported.",
            where=path.name,
            fix="check that this is the export you meant; if it is genuine, decompress it "
            "yourself (gunzip FILE, or unzip) and import the plain file, or split it into "
            "smaller files and import them one by one.",
        )


def check_inflation(
    path: Path, kind: str, compression: str | None, max_bytes: int | None = MAX_INFLATED_BYTES
) -> None:
    """Refuse a file whose compressed content unpacks past ``max_bytes`` or
    :data:`MAX_INFLATE_RATIO` (:class:`InflationError`), or that is damaged
    (:class:`UnreadableFileError`); only unpacks as far as needed to tell.

    ``max_bytes=None`` bounds the ratio only: what a user imports on their own machine may be
    large for real (a 40M-line Parquet file unpacks past 1 GB), while a bomb's ratio is not
    that of any real export."""
    if compression == "gzip":
        _check_gzip(path, max_bytes)
    elif kind == "excel":
        _check_zip(path, max_bytes)
    elif kind == "parquet":
        _check_parquet(path, max_bytes)


def gzip_damaged(where: str, exc: BaseException) -> UnreadableFileError:
    """The refusal of a gzip file that cannot be unpacked (truncated or corrupted)."""
    detail = str(exc).split(": ", 1)[-1] or type(exc).__name__
    return UnreadableFileError(
        f"This is not a valid gzip file: it is damaged or cut short ({detail}). Nothing was "
        "imported.",
        where=where,
        fix="download or copy the file again (the transfer may have been interrupted), or "
        "compress the export again; an uncompressed export works too.",
    )


def mb(n: float) -> str:
    """``n`` bytes as '1.5 MB', '300 MB' or '1.0 GB'."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):,.1f} GB"
    return f"{n / (1 << 20):,.{0 if n >= 10 << 20 else 1}f} MB"


def _over(unpacked: int, packed: int, max_bytes: int | None) -> bool:
    if max_bytes is not None and unpacked > max_bytes:
        return True
    return unpacked > INFLATE_RATIO_FLOOR and unpacked > MAX_INFLATE_RATIO * max(packed, 1)


def _bomb(path: Path, unpacked: int, packed: int, max_bytes: int | None) -> InflationError:
    ratio = unpacked / max(packed, 1)
    size = path.stat().st_size
    if ratio > MAX_INFLATE_RATIO:
        found = (
            f"it unpacks to about {ratio:,.0f} times its size (about {mb(ratio * size)} "
            f"from {mb(size)})"
        )
    else:
        found = f"it unpacks to more than {mb(unpacked)}"
    return InflationError(path, found, max_bytes)


def _check_gzip(path: Path, max_bytes: int | None) -> None:
    import gzip

    unpacked = 0
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        try:
            while chunk := gz.read(_CHUNK):
                unpacked += len(chunk)
                if _over(unpacked, raw.tell(), max_bytes):
                    raise _bomb(path, unpacked, raw.tell(), max_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            raise gzip_damaged(path.name, exc) from None


def _check_zip(path: Path, max_bytes: int | None) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            packed = sum(i.compress_size for i in infos)
            declared = sum(i.file_size for i in infos)
            if _over(declared, packed, max_bytes):
                raise _bomb(path, declared, packed, max_bytes)
            unpacked = 0
            for info in infos:
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        unpacked += len(chunk)
                        if _over(unpacked, packed, max_bytes):
                            raise _bomb(path, unpacked, packed, max_bytes)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnreadableFileError(
            f"The workbook's zip container is damaged ({type(exc).__name__}).",
            where=path.name,
            fix="open it in Excel or LibreOffice and save it again as .xlsx, or export CSV.",
        ) from None


def _check_parquet(path: Path, max_bytes: int | None) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except Exception:  # pyarrow raises several kinds; the reader reports a damaged file
        return
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if _over(unpacked, path.stat().st_size, max_bytes):
        raise _bomb(path, unpacked, path.stat().st_size, max_bytes)
