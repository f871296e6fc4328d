"""How far an upload may unpack: the ingest bound (:mod:`segmint.ingest.inflation`) as a 413.

The server checks an upload as soon as it is stored, with its own ``--max-inflated-mb``, and
tells the user how to import a large file anyway.
"""

from __future__ import annotations

from pathlib import Path

from segmint.api.uploads import UploadTooLarge
from segmint.ingest import inflation
from segmint.ingest.inflation import INFLATE_RATIO_FLOOR, MAX_INFLATE_RATIO, MAX_INFLATED_BYTES

__all__ = ["INFLATE_RATIO_FLOOR", "MAX_INFLATED_BYTES", "MAX_INFLATE_RATIO", "check_inflation"]


def check_inflation(path: Path, kind: str, compression: str | None, max_bytes: int) -> None:
    """Refuse (413) an upload whose compressed content unpacks past ``max_bytes`` or
    :data:`MAX_INFLATE_RATIO`; a damaged file is refused as unreadable."""
    try:
        inflation.check_inflation(path, kind, compression, max_bytes)
    except inflation.InflationError as exc:
        raise UploadTooLarge(
            f"This compressed file is too large once unpacked: {exc.found}. Uploads may "
            f"unpack to at most {inflation.mb(max_bytes)} and to at most "
            f"{MAX_INFLATE_RATIO} times their compressed size.",
            where=path.name,
            fix="check that this is the export you meant; if it is genuine, upload it "
            "uncompressed or split, or start the server with a higher --max-inflated-mb.",
        ) from None
