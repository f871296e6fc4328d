"""The stored feature values that scoring by id reads, copied into memory and checked at use.

Scoring one customer sent by ``customer_id`` only reads its row of ``customer_features``. One
DuckDB query per request costs 1.3-1.8 ms of CPU (even ``SELECT $1`` costs 0.47 ms), which caps
a server at a few hundred such requests a second. :class:`StoredValues` reads the columns a
model needs once (one Arrow read: 0.4-0.6 s for a million rows) into a float64 matrix (NULL:
NaN) and the ids as UTF-8 in a sorted array of fixed-width bytes, found by binary search (8 MB
for a million 8-character ids, where a pandas Index or a dict of Python strings holds 80-140
MB). A request is then a lookup in memory: about 15 µs with its check, measured on a loaded
machine (two ``stat`` calls 8 µs, the search 5 µs).

It never answers from data older than the file: the copy carries the ``os.stat`` fingerprint
(modification and change time, size, inode, device) of the workspace file and of its
write-ahead log (``.wal``; a missing one counts as a value), taken before the read, and every
lookup compares it with the file's. A committed write changes them: a commit appends to the
log, a checkpoint rewrites the file and removes the log, an erasure's rewrite makes a new file.
A write by this server through any connection (they share one database), or by another
process, is so seen at the next lookup: the copy is dropped, that request goes to the query,
and a later one reads a fresh copy. (Another process can write only while the server holds no
connection, as during its own erasure or compaction: DuckDB locks the file for one writer, and
``segmint erase`` or ``update`` run meanwhile stop with "DuckDB allows one writer".)
Timestamps are coarse (a kernel tick), and a reader could begin between a commit's log write
and the commit becoming visible, so a copy is only taken of a file unchanged for
:data:`QUIET_NS` (the racy-clean rule of git's index) and only kept when the fingerprint is
the same after the read. A workspace written every few seconds would have its copy read again
as often: a read waits :data:`BACKOFF` times the last one's duration after it (the query
answers meanwhile).

No copy is taken (the query answers, as before) when the id is not the plain ``customer_id``
(pseudonyms, linked persons: :func:`~segmint.privacy.pseudonyms.customer_key_sql` is not the
identity), for an in-memory workspace, above :data:`MAX_ROWS` rows, when a needed column is
not a plain number (integer, float, boolean), or the ids are not unique text, are longer than
:data:`MAX_ID_BYTES` or hold a NUL character (fixed-width bytes drop trailing NULs).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segmint._workspace import Workspace
from segmint.privacy.pseudonyms import customer_key_sql

__all__ = [
    "BACKOFF",
    "MAX_ID_BYTES",
    "MAX_ROWS",
    "NO_COPY",
    "QUIET_NS",
    "StoredValues",
    "fingerprint",
]

#: the most rows copied: a million take 8 bytes a value and the longest id's width (61 MB for
#: seven features and 8-character ids; the server's RSS grew by 170-180 MB, DuckDB's cache of
#: the columns read and the read's freed memory included); a larger table is read by the query
MAX_ROWS = 5_000_000
#: the longest id (UTF-8 bytes) copied: every id takes the longest one's width
MAX_ID_BYTES = 64
#: a copy is taken only of a file (and log) unchanged for this long
QUIET_NS = 1_000_000_000
#: after a read, the next one waits this many times its duration, so that a workspace written
#: every few seconds (consent, audit, jobs) spends at most about a tenth of a core on copies;
#: meanwhile the query answers
BACKOFF = 9
#: what :meth:`StoredValues.get` gives when it has no copy valid for the file as it is now
NO_COPY: Any = object()

_Stat = tuple[int, int, int, int, int] | None
Fingerprint = tuple[_Stat, _Stat]


def _stat(path: str) -> _Stat:
    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    return (s.st_mtime_ns, s.st_ctime_ns, s.st_size, s.st_ino, s.st_dev)


def fingerprint(path: str | os.PathLike[str]) -> Fingerprint:
    """The ``stat`` of the workspace file and of its write-ahead log (None: none there)."""
    return (_stat(os.fspath(path)), _stat(f"{os.fspath(path)}.wal"))


def _newest_ns(fp: Fingerprint) -> int:
    return max(max(s[0], s[1]) for s in fp if s is not None) if any(fp) else 0


@dataclass(frozen=True)
class _Copy:
    fingerprint: Fingerprint
    #: the ids, sorted (``S<width>``: UTF-8, padded with NUL bytes)
    ids: np.ndarray
    #: the needed values, a row per id in the same order
    values: np.ndarray


class StoredValues:
    """One model's needed columns of ``customer_features``, by customer id, in memory."""

    def __init__(self, path: Path, needed: list[str]) -> None:
        self.path = os.fspath(path)
        self.needed = list(needed)
        self._copy: _Copy | None = None
        #: the fingerprint at which no copy could be taken (retried when the file changes)
        self._refused: Fingerprint | None = None
        self._building = threading.Lock()
        #: no read before this time (``time.monotonic_ns``): see :data:`BACKOFF`
        self._not_before = 0

    @property
    def rows(self) -> int:
        """Rows held now (0 without a copy)."""
        copy = self._copy
        return 0 if copy is None else len(copy.ids)

    def get(self, customer_id: str) -> Any:
        """The customer's stored values (a float array, NaN for NULL), None for an id the
        table does not hold, or :data:`NO_COPY` without a copy valid for the file now."""
        copy = self._copy
        if copy is None:
            return NO_COPY
        if fingerprint(self.path) != copy.fingerprint:
            if self._copy is copy:
                self._copy = None  # stale: dropped, its memory freed
            return NO_COPY
        try:
            key = customer_id.encode()
        except UnicodeEncodeError:  # (a lone surrogate): the query's answer
            return NO_COPY
        if b"\0" in key:
            return NO_COPY
        at = int(copy.ids.searchsorted(key))
        if at == len(copy.ids) or copy.ids[at] != key:
            return None
        return copy.values[at]

    def refresh(self, ws: Workspace) -> bool:
        """Take a copy when none is valid and the file allows it; False when another thread is
        taking one, the file changed within :data:`QUIET_NS` or during the read, the last read
        was too recent (:data:`BACKOFF`), or a copy cannot be taken (then not again before the
        file changes)."""
        if not self._building.acquire(blocking=False):
            return False  # another request reads it meanwhile; this one queries
        try:
            before = fingerprint(self.path)
            copy = self._copy
            if copy is not None and copy.fingerprint == before:
                return True
            if before == self._refused or time.time_ns() - _newest_ns(before) < QUIET_NS:
                return False
            start = time.monotonic_ns()
            if start < self._not_before:
                return False
            read = self._read(ws)
            self._not_before = start + (BACKOFF + 1) * (time.monotonic_ns() - start)
            if read is None:
                self._refused = before
                return False
            if fingerprint(self.path) != before:
                return False  # written meanwhile: the copy may be older or newer than ``before``
            self._copy = _Copy(before, *read)
            return True
        finally:
            self._building.release()

    def _read(self, ws: Workspace) -> tuple[np.ndarray, np.ndarray] | None:
        """The id index and value matrix, or None when they cannot answer as the query does."""
        import pyarrow as pa
        import pyarrow.compute as pc

        store = ws.store
        if customer_key_sql(store, "$id") != "$id":
            return None  # the row is found by person or pseudonym: the query's work
        db = store.db.cursor()
        # fetchall: a result left unfinished blocks the next query on the cursor
        ((count,),) = db.execute("SELECT count(*) FROM customer_features").fetchall()
        if count > MAX_ROWS:
            return None
        cols = ", ".join(f'"{c}"' for c in self.needed)
        table = db.sql(
            f"SELECT customer_id, {cols} FROM customer_features WHERE customer_id IS NOT NULL"
        ).to_arrow_table()
        ids = table.column(0)
        if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
            return None
        columns = table.columns[1:]
        plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)
        if not all(any(t(c.type) for t in plain) for c in columns):
            return None  # decimals, text, …: the frame's conversions
        fixed = _fixed_width(ids)
        if fixed is None:
            return None
        order = np.argsort(fixed, kind="stable")
        fixed = fixed[order]
        if len(fixed) > 1 and bool((fixed[1:] == fixed[:-1]).any()):
            return None  # the query takes any one of the rows
        values = np.empty((len(ids), len(columns)), dtype="float64")
        for j, col in enumerate(columns):
            # safe=False: an integer past 2**53 rounds to the nearest float, as float() does
            values[:, j] = pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        return fixed, values[order]


def _fixed_width(ids: Any) -> np.ndarray | None:
    """The text ids (an Arrow array) as UTF-8 bytes of one width (``S<width>``, NUL-padded),
    built from Arrow's buffers without a Python string per id; None when one is longer than
    :data:`MAX_ID_BYTES` or holds a NUL byte."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) and pc.any(pc.match_substring(ids, "\0")).as_py():
        return None
    arr = ids.combine_chunks().cast(pa.large_binary())
    n = len(arr)
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    width = max(int(lengths.max()) if n else 0, 1)
    if width > MAX_ID_BYTES:
        return None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n]
    buffer = arr.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    if not len(data):  # every id empty
        data = np.zeros(1, dtype=np.uint8)
    out = np.zeros((n, width), dtype=np.uint8)
    last = len(data) - 1
    for j in range(width):
        byte = data[np.minimum(offsets + j, last)]
        byte[lengths <= j] = 0
        out[:, j] = byte
    return out.view(f"S{width}").ravel()
