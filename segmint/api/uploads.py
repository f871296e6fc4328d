"""Uploads: streamed to disk with the size limit enforced while reading, then checked.

The multipart form is parsed as it arrives (``python_multipart``'s streaming parser): the
file part goes straight into its own folder under the uploads folder, byte-counted, and the
upload stops with 413 the moment it passes ``max_upload_bytes``; nothing is spooled to a
temporary file first. A stored file is then checked before anything reads it whole:

- its name: at most :data:`MAX_NAME_CHARS` characters (400 above), cleaned to
  ``[A-Za-z0-9._-]``, so it cannot leave its folder;
- a full disk (``ENOSPC``, ``EDQUOT``) while writing is 507, and so is a ``Content-Length``
  larger than the free space;
- compressed content may unpack only so far (:mod:`segmint.api.inflation`, 413).

:func:`receive_files` takes several file parts under one name (``segmint update``'s week of
exports, ``POST /api/v1/update``): each goes into its own folder, and the upload limit holds
for the files together, as the request's size cap does.

Anything refused leaves nothing behind.
"""

from __future__ import annotations

import errno
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from python_multipart.multipart import MultipartParser, parse_options_header

from segmint.exceptions import DiskSpaceError, InputError

__all__ = [
    "MAX_FILES",
    "MAX_NAME_CHARS",
    "Batch",
    "Received",
    "UploadStorageFull",
    "UploadTooLarge",
    "clean_name",
    "receive",
    "receive_files",
]

#: the longest upload file name accepted
MAX_NAME_CHARS = 200
#: a part's headers, and the small form fields (the web form's CSRF token) together
MAX_PART_HEADERS = 16 * 1024
MAX_FIELDS_BYTES = 64 * 1024
#: the most file parts one form may carry (:func:`receive_files`)
MAX_FILES = 20
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_FULL = (errno.ENOSPC, errno.EDQUOT)


class UploadTooLarge(InputError):
    """The upload, or what it unpacks to, is over a limit (413)."""


class UploadStorageFull(DiskSpaceError):
    """The uploads folder has no room for the file (507)."""


def _storage_full(name: str) -> UploadStorageFull:
    return UploadStorageFull(
        "The server has no room left to store this upload (its uploads folder is full).",
        where=name,
        fix="ask the server's admin to free disk space (old uploads can be deleted), or "
        "import the file from the command line with segmint ingest FILE.",
    )


def clean_name(filename: str) -> str:
    """The stored name: only letters, digits, ``._-``; refuses names over the limit."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if len(base) > MAX_NAME_CHARS:
        raise InputError(
            f"The file name is {len(base):,} characters long; uploads take names of up to "
            f"{MAX_NAME_CHARS} characters.",
            where=base[:40] + "…",
            fix="rename the file to a shorter name and upload it again.",
        )
    cleaned = "".join(c if c in _SAFE_CHARS else "_" for c in base)
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.strip("._") or "upload"


@dataclass
class Received:
    """An upload on disk: its id (the folder's name), the file, and the form's other fields."""

    upload_id: str
    path: Path
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


@dataclass
class Batch:
    """Several uploads from one form (each in its own folder) and the form's other fields."""

    files: list[Received]
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.files]

    def discard(self) -> None:
        for r in self.files:
            r.discard()


class _Target:
    """The file being written: a fresh folder, a cleaned name, counted bytes."""

    def __init__(self, uploads: Path, filename: str, limit: int, used: int = 0) -> None:
        self.name = clean_name(filename)
        self.limit = limit
        self.used = used  # bytes of the form's earlier files (the limit holds for all)
        self.written = 0
        self.folder = uploads / uuid.uuid4().hex
        try:
            self.folder.mkdir(parents=True)
            self.out: IO[bytes] = open(self.folder / self.name, "wb")  # noqa: SIM115
        except OSError as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            if exc.errno in _FULL:
                raise _storage_full(self.name) from None
            raise

    def write(self, data: bytes) -> None:
        self.written += len(data)
        if self.used + self.written > self.limit:
            what = "The files together are" if self.used else "The file is"
            raise UploadTooLarge(
                f"{what} larger than the upload limit ({self.limit / (1 << 20):g} MB).",
                where=self.name,
                fix="import it from the command line (segmint ingest FILE) or start the "
                "server with a higher --max-upload-mb.",
            )
        try:
            self.out.write(data)
        except OSError as exc:
            if exc.errno in _FULL:
                raise _storage_full(self.name) from None
            raise

    def close(self) -> None:
        try:
            self.out.close()
        except OSError as exc:  # the last buffered bytes did not fit
            if exc.errno in _FULL:
                raise _storage_full(self.name) from None
            raise


class _Form:
    """Callbacks for the streaming parser: small fields in memory, the file on disk."""

    def __init__(self, uploads: Path, file_field: str, limit: int, max_files: int = 1) -> None:
        self.uploads, self.file_field, self.limit = uploads, file_field, limit
        self.max_files = max_files
        self.fields: dict[str, str] = {}
        #: the files written so far, in the form's order (one unless ``max_files`` > 1)
        self.targets: list[_Target] = []
        self._headers: dict[str, bytes] = {}
        self._header = b""
        self._key = b""
        self._size = 0
        self._part: str | None = None  # the current field's name (None: skipped part)
        self._value = bytearray()
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._value_bytes,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _grow(self, n: int) -> None:
        self._size += n
        if self._size > MAX_PART_HEADERS:
            raise InputError(
                "The upload form's part headers are too long.",
                fix="send the file as multipart/form-data in a field named 'file'.",
            )

    def _begin(self) -> None:
        self._headers, self._header, self._key, self._size = {}, b"", b"", 0

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._key += data[start:end]

    def _value_bytes(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._header += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._key.decode("latin-1").lower()] = self._header
        self._key, self._header = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        is_file = name == self.file_field and filename is not None
        if is_file and self.max_files > 1 and len(self.targets) >= self.max_files:
            raise InputError(
                f"The form carries more than {self.max_files} files.",
                fix=f"send at most {self.max_files} files at a time (or combine them).",
            )
        self._in_file = is_file and len(self.targets) < self.max_files
        self._part = name if not self._in_file and filename is None else None
        self._value = bytearray()
        if self._in_file:
            name = (filename or b"").decode("utf-8", "replace")
            used = sum(t.written for t in self.targets)
            self.targets.append(_Target(self.uploads, name, self.limit, used))

    @property
    def target(self) -> _Target | None:
        """The file being written, or the last one written."""
        return self.targets[-1] if self.targets else None

    def remove(self) -> None:
        """Delete every file written (the form was refused)."""
        for t in self.targets:
            t.out.close()
            shutil.rmtree(t.folder, ignore_errors=True)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self.target is not None:
            self.target.write(data[start:end])
        elif self._part is not None:
            self._value += data[start:end]
            if sum(map(len, self.fields.values())) + len(self._value) > MAX_FIELDS_BYTES:
                raise InputError(
                    "The upload form's fields other than the file are too long.",
                    fix="send only the file (and, from the web app, its form token).",
                )

    def _end(self) -> None:
        if self._in_file and self.target is not None:
            self.target.close()
        elif self._part is not None:
            self.fields[self._part] = self._value.decode("utf-8", "replace")
        self._in_file, self._part = False, None


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InputError(
            f"An upload is sent as multipart/form-data; got '{kind.decode('latin-1')[:60]}'.",
            fix="send the file as a form field named 'file' (curl -F file=@orders.csv …).",
        )
    return boundary


async def receive(
    chunks: AsyncIterator[bytes],
    content_type: str,
    uploads: Path,
    limit: int,
    *,
    content_length: int | None = None,
    file_field: str = "file",
) -> Received:
    """Stream a multipart body into a new folder under ``uploads``; the file part named
    ``file_field`` is written as it arrives. Raises a 4xx/507 SegmintError and leaves nothing
    behind when the form, the name, the size or the disk is not right."""
    form = await _parse(chunks, content_type, uploads, limit, content_length, file_field, 1)
    target = form.targets[0]
    return Received(target.folder.name, target.folder / target.name, form.fields)


async def receive_files(
    chunks: AsyncIterator[bytes],
    content_type: str,
    uploads: Path,
    limit: int,
    *,
    content_length: int | None = None,
    file_field: str = "file",
    max_files: int = MAX_FILES,
) -> Batch:
    """:func:`receive` for a form with one or more file parts named ``file_field`` (at most
    ``max_files``), each written to its own folder; ``limit`` holds for the files together."""
    form = await _parse(chunks, content_type, uploads, limit, content_length, file_field, max_files)
    files = [Received(t.folder.name, t.folder / t.name) for t in form.targets]
    return Batch(files, form.fields)


async def _parse(
    chunks: AsyncIterator[bytes],
    content_type: str,
    uploads: Path,
    limit: int,
    content_length: int | None,
    file_field: str,
    max_files: int,
) -> _Form:
    """Parse the body into files on disk and small fields; on any refusal remove the files."""
    boundary = _boundary(content_type)
    if content_length is not None:
        free = shutil.disk_usage(uploads).free
        if content_length > free:
            raise _storage_full("upload")
    form = _Form(uploads, file_field, limit, max_files)
    parser = MultipartParser(boundary, cast(Any, form.callbacks()))
    try:
        async for chunk in chunks:
            _feed(parser, chunk)
        _feed(parser, None)
    except BaseException:
        form.remove()
        raise
    if not form.targets or not all(t.out.closed for t in form.targets):  # none, or cut short
        form.remove()
        raise InputError(
            f"The upload form has no file in a field named '{file_field}'.",
            fix="send the file as a form field named 'file' (curl -F file=@orders.csv …).",
        )
    return form


def _feed(parser: MultipartParser, chunk: bytes | None) -> None:
    """Write ``chunk`` to the parser (None: the end); malformed framing is a 400."""
    try:
        if chunk is None:
            parser.finalize()
        else:
            parser.write(chunk)
    except ValueError as exc:  # python_multipart's parse errors are ValueErrors
        raise InputError(
            f"The upload is not a valid multipart/form-data body ({exc}).",
            fix="send the file as a form field named 'file' (curl -F file=@orders.csv …).",
        ) from None
