"""The one translation of DuckDB's resource errors into segmint's user errors.

Out of memory, a full disk, a workspace locked by another process, a file that cannot be read
or written: none is a bug, and each has a fix the user can apply. The CLI's entry, the API's
error handler and the background jobs all translate through :func:`engine_errors` (or
:func:`translate`), so the same failure reads the same everywhere. Other DuckDB errors (a
binder or parser error in segmint's own SQL) are bugs and pass through unchanged.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from segmint.exceptions import (
    DiskSpaceError,
    EngineError,
    MemoryLimitError,
    SegmintError,
    WorkspaceError,
)
from segmint.store._store import MEMORY_LIMIT_ENV, memory_limit

__all__ = ["engine_errors", "file_error", "file_errors", "io_error", "translate"]

#: DuckDB error classes that mean "a file could not be used", whatever the statement
_IO = (duckdb.IOException, duckdb.PermissionException)


@contextmanager
def engine_errors(workspace: str | Path | None = None) -> Iterator[None]:
    """Turn DuckDB's out-of-memory and I/O errors raised inside into :class:`SegmintError`.

    >>> with engine_errors("shop.duckdb"):          # doctest: +SKIP
    ...     ws.features()
    """
    try:
        yield
    except duckdb.Error as exc:
        error = translate(exc, workspace)
        if error is None:
            raise
        raise error from exc


def translate(exc: BaseException, workspace: str | Path | None = None) -> SegmintError | None:
    """The user error for a DuckDB resource failure, or None when ``exc`` is something else."""
    if isinstance(exc, SegmintError):
        return exc
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc)
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in text.lower():
        return memory_error(exc)
    if isinstance(exc, _IO):
        return io_error(exc, Path(workspace) if workspace is not None else None)
    return None


def memory_error(exc: duckdb.Error) -> MemoryLimitError:
    return MemoryLimitError(
        f"The database engine needed more memory than segmint lets it use ({memory_limit()}) "
        f"and stopped the step: {_first_line(exc)} Nothing from that step was saved.",
        fix=f"allow more with the environment variable {MEMORY_LIMIT_ENV}, e.g. "
        f"{MEMORY_LIMIT_ENV}=4GB segmint ... (for the server, set it before `segmint serve`), "
        "or close other programs using memory.",
    )


def io_error(exc: duckdb.Error, workspace: Path | None = None) -> WorkspaceError:
    """A workspace that is locked, a full disk, or a file that cannot be read or written."""
    text = str(exc)
    lower = text.lower()
    name = f"'{workspace}'" if workspace is not None else _quoted_file(text)
    if "lock" in lower:
        holder = re.search(r"PID (\d+)", text)
        who = f" (process {holder.group(1)})" if holder else ""
        return WorkspaceError(
            f"The workspace {name} is open in another process{who}; DuckDB allows one writer.",
            fix="close the other segmint command, notebook or app using it, then try again.",
        )
    if "no space left" in lower or "disk is full" in lower or "disk full" in lower:
        return DiskSpaceError(
            f"The disk holding {name} ran out of space while writing (nothing was committed; "
            "the workspace is unchanged).",
            fix="free some disk space or move the workspace to a larger disk with --workspace.",
        )
    if "permission denied" in lower or "read-only" in lower or "read only" in lower:
        return EngineError(
            f"segmint may not write to {name}: {_first_line(exc)}",
            fix="make the file and its folder writable, or copy the workspace to a folder you "
            "can write to and pass that with --workspace.",
        )
    return EngineError(
        f"The database engine could not read or write {name}: {_first_line(exc)}",
        fix="check that the path is a segmint workspace (a DuckDB file), that its disk is "
        "mounted, and that you can write to its folder.",
    )


@contextmanager
def file_errors(path: str | Path, what: str, option: str = "--out") -> Iterator[None]:
    """Turn an :class:`OSError` raised inside while writing ``what`` at ``path`` into a
    :class:`WorkspaceError` (a :class:`DiskSpaceError` when the disk is full).

    >>> with file_errors("/proc/x", "the quality report"):  # doctest: +SKIP
    ...     Path("/proc/x/quality.json").write_text("{}")
    """
    try:
        yield
    except OSError as exc:
        raise file_error(exc, Path(path), what, option) from exc


_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_RIGHTS = {errno.EACCES, errno.EPERM, errno.EROFS}


def file_error(exc: OSError, path: Path, what: str, option: str = "--out") -> WorkspaceError:
    """The user error for an :class:`OSError` met while writing ``what`` at ``path``: what
    went wrong (the system's words), which path, and how to fix it."""
    name = f"'{exc.filename}'" if exc.filename else f"'{path}'"
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _NO_SPACE:
        return DiskSpaceError(
            f"The disk ran out of space while writing {what} to {name}.",
            fix=f"free some space on that disk, or write {what} to another disk with {option}.",
        )
    if exc.errno in _NO_RIGHTS:
        return WorkspaceError(
            f"segmint may not write {what} to {name} ({reason}).",
            fix=f"make that folder writable, or choose a folder you can write to with {option}.",
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return WorkspaceError(
            f"segmint could not write {what} to {name}: a folder on the way does not exist or "
            f"is a file ({reason}).",
            fix=f"create the folder first, or pass an existing folder with {option}.",
        )
    return WorkspaceError(
        f"segmint could not write {what} to {name} ({reason}).",
        fix=f"check that the path is a folder you can write to, or choose another with {option}.",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if line.endswith(".") else line + "."


def _quoted_file(text: str) -> str:
    found = re.search(r'"([^"]+)"', text)
    return f"'{found.group(1)}'" if found else "a workspace file"
