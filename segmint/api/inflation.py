"""How far a compressed upload may unpack: bounded before anything reads it whole.

A gzip CSV or JSON, the zip inside an .xlsx and Parquet's column chunks can unpack to far more
than their size (an analyst's 3.8 MB ``.csv.gz`` unpacked to 3.2 GB in the upload preview). An
upload may unpack to at most ``max_inflated_bytes`` (:data:`MAX_INFLATED_BYTES`,
``--max-inflated-mb``) and, once :data:`INFLATE_RATIO_FLOOR` bytes have come out, to at most
:data:`MAX_INFLATE_RATIO` times the packed bytes read so far. Files are unpacked as a stream
and only as far as needed to tell, so a bomb is refused (413) after a few MB; Parquet is
judged by the sizes its footer declares.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from segmint.api.uploads import UploadTooLarge
from segmint.exceptions import UnreadableFileError

__all__ = ["INFLATE_RATIO_FLOOR", "MAX_INFLATED_BYTES", "MAX_INFLATE_RATIO", "check_inflation"]

#: the most bytes a compressed upload may unpack to (``--max-inflated-mb``)
MAX_INFLATED_BYTES = 1024 * 1024 * 1024
#: the highest unpacked ÷ packed ratio, checked once this much has been unpacked
MAX_INFLATE_RATIO = 100
INFLATE_RATIO_FLOOR = 16 * 1024 * 1024
_CHUNK = 1 << 20


def check_inflation(path: Path, kind: str, compression: str | None, max_bytes: int) -> None:
    """Refuse a file whose compressed content unpacks past ``max_bytes`` or
    :data:`MAX_INFLATE_RATIO`; only unpacks as far as needed to tell."""
    if compression == "gzip":
        _check_gzip(path, max_bytes)
    elif kind == "excel":
        _check_zip(path, max_bytes)
    elif kind == "parquet":
        _check_parquet(path, max_bytes)


def _over(unpacked: int, packed: int, max_bytes: int) -> bool:
    if unpacked > max_bytes:
        return True
    return unpacked > INFLATE_RATIO_FLOOR and unpacked > MAX_INFLATE_RATIO * max(packed, 1)


def _bomb(path: Path, unpacked: int, packed: int, max_bytes: int) -> UploadTooLarge:
    ratio = unpacked / max(packed, 1)
    size = path.stat().st_size
    if ratio > MAX_INFLATE_RATIO:
        found = (
            f"it unpacks to about {ratio:,.0f} times its size (about {_mb(ratio * size)} "
            f"from {_mb(size)})"
        )
    else:
        found = f"it unpacks to more than {_mb(unpacked)}"
    return UploadTooLarge(
        f"This compressed file is too large once unpacked: {found}. Uploads may unpack to at "
        f"most {_mb(max_bytes)} and to at most {MAX_INFLATE_RATIO} times their compressed size.",
        where=path.name,
        fix="check that this is the export you meant; import a large file from the command "
        "line with segmint ingest FILE, or start the server with a higher --max-inflated-mb.",
    )


def _mb(n: float) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):,.1f} GB"
    return f"{n / (1 << 20):,.{0 if n >= 10 << 20 else 1}f} MB"


def _check_gzip(path: Path, max_bytes: int) -> None:
    import gzip

    unpacked = 0
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        try:
            while chunk := gz.read(_CHUNK):
                unpacked += len(chunk)
                if _over(unpacked, raw.tell(), max_bytes):
                    raise _bomb(path, unpacked, raw.tell(), max_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFileError(
                f"The gzip file is damaged or cut short ({type(exc).__name__}).",
                where=path.name,
                fix="compress the export again, or upload it uncompressed.",
            ) from None


def _check_zip(path: Path, max_bytes: int) -> None:
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


def _check_parquet(path: Path, max_bytes: int) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except Exception:  # pyarrow raises several kinds; the reader reports a damaged file
        return
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if _over(unpacked, path.stat().st_size, max_bytes):
        raise _bomb(path, unpacked, path.stat().st_size, max_bytes)
