"""The log of report files segmint wrote (``report_files``), for erasure to rewrite them.

A report quotes customers (typical customers of a segment, bad values in the quality report),
so erasing a customer must reach every report that still exists. Each place that writes a
report or its JSON calls :func:`register_report` with the absolute path; files that no longer
exist are skipped by the erasure and reported as gone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from segmint.store import Store

__all__ = ["moved", "register_report", "report_paths"]


def register_report(
    db: Store | duckdb.DuckDBPyConnection,
    path: str | os.PathLike[str],
    kind: str,
    run_id: str | None = None,
) -> None:
    """Record that segmint wrote the report file ``path`` (once per path)."""
    con: duckdb.DuckDBPyConnection = getattr(db, "db", db)  # type: ignore[arg-type]
    from segmint.store.tables import workspace_table

    con.execute(workspace_table("report_files").ddl())
    full = str(Path(path).resolve())
    con.execute("DELETE FROM report_files WHERE path = ?", [full])
    con.execute(
        "INSERT INTO report_files VALUES (?, ?, ?, ?)",
        [full, kind, run_id, datetime.now(UTC).replace(tzinfo=None)],
    )


def moved(
    db: Store | duckdb.DuckDBPyConnection,
    old: str | os.PathLike[str],
    new: str | os.PathLike[str],
) -> None:
    """The files recorded under the folder ``old`` now live under ``new`` (the server writes a
    report to a scratch folder and renames it into place when it is complete)."""
    con: duckdb.DuckDBPyConnection = getattr(db, "db", db)  # type: ignore[arg-type]
    src, dst = str(Path(old).resolve()), str(Path(new).resolve())
    if not _has_log(con):
        return
    con.execute("DELETE FROM report_files WHERE starts_with(path, ?)", [dst + os.sep])
    con.execute(
        "UPDATE report_files SET path = ? || substr(path, length(?) + 1) "
        "WHERE starts_with(path, ?)",
        [dst, src, src + os.sep],
    )


def report_paths(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(path, kind, run_id) of every report recorded, oldest first."""
    if not _has_log(con):
        return []
    rows = con.execute("SELECT path, kind, run_id FROM report_files ORDER BY written_at").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _has_log(con: duckdb.DuckDBPyConnection) -> bool:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'report_files' "
        "AND table_schema = 'main' AND table_catalog = current_database()"
    ).fetchone()
    return bool(exists and exists[0])
