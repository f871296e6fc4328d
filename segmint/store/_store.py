"""The workspace store: one DuckDB file, reached through Ibis, with transactional writes.

Stage code reads tables as Ibis expressions (engine-neutral). Writes that must be atomic
(an import, a clean) run inside :meth:`Store.transaction`: either every statement lands or the
file is exactly as it was. Every successful write is recorded as a run in the ``runs`` table.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import duckdb
import ibis
import ibis.expr.operations as ops

from segmint.exceptions import DiskSpaceError, WorkspaceError
from segmint.store.schema import CANONICAL, LINEAGE
from segmint.store.snapshots import record_snapshot, retire_features
from segmint.store.tables import TABLES, WorkspaceTable, workspace_table

__all__ = ["RunRecord", "Store", "quote"]

#: created when a workspace is opened for writing
SYSTEM_TABLES = tuple(t.name for t in TABLES.values() if t.kind == "system")
#: more new columns than this are added by rebuilding the table (see Store.add_columns)
ALTER_MAX = 50

#: environment variable that overrides :func:`default_memory_limit` (e.g. ``4GB``)
MEMORY_LIMIT_ENV = "SEGMINT_MEMORY_LIMIT"


def default_memory_limit() -> str:
    """DuckDB's memory cap: a sixteenth of the machine's memory, at least 1 GB.

    Beyond it, joins, aggregates and sorts spill to a temporary file next to the workspace.
    DuckDB shares the process with the pandas stages of a run (profiles, clustering), so the
    process needs its cap plus their memory; DuckDB's own default (80 % of RAM) lets its
    buffer pool keep gigabytes of already-written table blocks cached. A fixed small cap
    would make inputs that fit in memory fail on a big machine. 24 GB of RAM → 1.5 GB (the
    feature SQL on 20M order lines then runs about 0.3 s slower than with 3 GB and peaks
    0.4 GB lower; BENCHMARKS.md).
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "1GB"
    return f"{max(1024, total // 16 // (1 << 20))}MB"


def memory_limit() -> str:
    """The cap in force: ``SEGMINT_MEMORY_LIMIT`` when set, else :func:`default_memory_limit`."""
    return os.environ.get(MEMORY_LIMIT_ENV) or default_memory_limit()


#: a table created and dropped at once so that a checkpoint truncates the file (_roll_back)
_SHRINK = "_segmint_shrink"


#: DuckDB's file header before the first block: a main header and two database headers
_HEADER_BYTES = 3 * 4096


def _invalidated(exc: duckdb.Error) -> bool:
    """Whether DuckDB closed the database for good after a fatal error (e.g. a checkpoint
    that could not write on a full disk); only a new connection works again."""
    return isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc).lower()


def _is_bad_size(exc: duckdb.Error) -> bool:
    """Whether DuckDB refused ``SET memory_limit`` because the size could not be read (and
    not because the engine itself failed, e.g. after a full disk)."""
    text = str(exc).lower()
    return isinstance(
        exc, duckdb.ParserException | duckdb.ConversionException | duckdb.InvalidInputException
    ) and ("memory" in text or "size" in text or "number" in text)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class RunRecord:
    """One run (ingest, clean, features, …) as stored in the ``runs`` table."""

    kind: str
    source: str | None = None
    fingerprint: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    row_counts: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    run_id: str = ""
    seq: int = 0


class Store:
    """A DuckDB workspace file opened through Ibis."""

    def __init__(self, path: str | os.PathLike[str] = "segmint.duckdb", *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise WorkspaceError(
                f"There is no workspace at '{self.path}'.",
                fix="Import data first (segmint ingest FILE --workspace PATH) or pass the "
                "--workspace of an existing one.",
            )
        #: a transaction of :meth:`transaction` is open (a nested one joins it)
        self.in_transaction = False
        self.created = not self.path.exists()
        if not read_only:
            from segmint.store.errors import file_errors

            with file_errors(self.path.parent, "the workspace", "--workspace"):
                self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.ibis = ibis.duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from None
        self.db: duckdb.DuckDBPyConnection = self.ibis.con
        self.db.execute("SET TimeZone = 'UTC'")
        self._limit_memory()
        if not read_only:
            for name in SYSTEM_TABLES:
                self.ensure(name)

    def _limit_memory(self) -> None:
        limit = memory_limit()
        try:
            self.db.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            self.ibis.disconnect()
            if not _is_bad_size(exc):  # a full disk, a broken file: say that, not "variable"
                from segmint.store.errors import io_error, translate

                raise (translate(exc, self.path) or io_error(exc, self.path)) from exc
            raise WorkspaceError(
                f"The environment variable {MEMORY_LIMIT_ENV} must be a memory size such as "
                f"'1GB' or '512MB'. Got {limit!r}.",
                fix=f"set e.g. {MEMORY_LIMIT_ENV}=2GB, or unset it for the default "
                f"({default_memory_limit()}).",
            ) from None

    def release_memory(self, *, checkpoint: bool = False) -> None:
        """Hand the memory DuckDB keeps cached after a heavy statement back to the system.

        DuckDB keeps the blocks it read or wrote (up to its cap) after a query ends; between
        the steps of a run that memory would sit next to the pandas stages that follow.
        Lowering the cap for a moment evicts the cached blocks (they are on disk; the OS page
        cache keeps rereading cheap), then the cap is restored. ``checkpoint``: first write
        the rows not yet in the file, which stay pinned until then (before the pandas stages
        of a run). It never raises: it runs in ``finally`` blocks, where an error of its own
        (the engine broken by a full disk) would hide the error that is being reported. An
        in-memory workspace is left alone: its tables would be written to temporary files.
        """
        if str(self.path) == ":memory:":
            return
        # Rows written since the last checkpoint stay pinned in memory (the cap cannot evict
        # them): 167 MB after the feature build on 20M lines, which the lowered cap then
        # failed to free. A checkpoint writes them to the file, so they can be evicted. It
        # fails inside a transaction or while another cursor writes: nothing is lost then.
        # Only where asked: with a checkpoint at every release, one 200M-line run stopped
        # with "Out of Memory" in the feature build; the next, without, passed (2026-12-04).
        if checkpoint:
            with suppress(duckdb.Error):
                self.db.execute("CHECKPOINT")
        # Two statements, each allowed to fail on its own. Lowering the cap fails when more
        # than 64 MB is pinned (on 20M lines it failed at 4 of the run's releases); setting
        # the cap again must still run: it is what hands the memory back then (peak 2,234 MB
        # on 20M lines against 2,600 MB when it was skipped after a failed first statement).
        with suppress(duckdb.Error):
            self.db.execute("SET memory_limit = '64MB'")
        with suppress(duckdb.Error):
            self.db.execute(f"SET memory_limit = '{memory_limit().replace(chr(39), '')}'")

    # -- reading ---------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        rows = self.db.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_catalog = current_database() ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def columns(self, name: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_catalog = current_database() "
            "AND table_name = ? ORDER BY ordinal_position",
            [name],
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def run_records(self) -> list[dict[str, Any]]:
        """Every run, oldest first, with ``spec`` and ``row_counts`` as dicts."""
        if "runs" not in self.table_names():
            return []
        cur = self.db.execute("SELECT * FROM runs ORDER BY seq")
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            for k in ("spec", "row_counts"):
                rec[k] = json.loads(rec[k]) if rec[k] else {}
            out.append(rec)
        return out

    def count(self, name: str) -> int:
        row = self.db.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()
        return int(row[0]) if row else 0

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All statements inside land together or not at all. Inside an open transaction it
        joins that one (the outer one commits or rolls back everything)."""
        if self.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN TRANSACTION")
        self.in_transaction = True
        try:
            yield self.db
        except BaseException:
            self.in_transaction = False
            self._roll_back()
            raise
        self.in_transaction = False
        try:
            self.db.execute("COMMIT")
        except duckdb.Error as exc:  # e.g. disk full while writing the WAL
            self._roll_back()
            from segmint.store.errors import io_error, translate

            raise (translate(exc, self.path) or io_error(exc, self.path)) from None

    def _roll_back(self) -> None:
        """Undo the open transaction and give back the file space it had taken.

        A large write puts its blocks into the file before the commit; after a rollback they
        are free but the file keeps its size (a failed clean on a full disk left the file
        18 MB larger, and the retry was refused for lack of space). A checkpoint after a small
        write truncates the free blocks at the end of the file. Errors here are suppressed:
        the caller is already reporting the error that made the transaction fail.
        """
        try:
            self.db.execute("ROLLBACK")
        except duckdb.Error as exc:
            if _invalidated(exc):
                self._reconnect()
        if str(self.path) == ":memory:":
            return
        try:
            if self._free_bytes() > 0:  # one transaction: the table never outlives it
                self.db.execute("BEGIN TRANSACTION")
                self.db.execute(f"CREATE TABLE {_SHRINK} (i INTEGER)")
                self.db.execute(f"DROP TABLE {_SHRINK}")
                self.db.execute("COMMIT")
                self.db.execute("CHECKPOINT")
        except duckdb.Error:
            with suppress(duckdb.Error):
                self.db.execute("ROLLBACK")

    def _reconnect(self) -> None:
        """Open the file again after DuckDB invalidated the connection (a checkpoint that
        failed on a full disk): the file holds the last commit, and the workspace (and a
        server using it) keeps working without a restart. Failures are left to the next
        statement, which reports them."""
        with suppress(Exception):
            self.ibis.disconnect()
        with suppress(duckdb.Error):
            self.ibis = ibis.duckdb.connect(str(self.path), read_only=self.read_only)
            self.db = self.ibis.con
            self.db.execute("SET TimeZone = 'UTC'")
            self.db.execute(f"SET memory_limit = '{memory_limit().replace(chr(39), '')}'")

    def _free_bytes(self) -> int:
        """Bytes inside the workspace file that the next write reuses before the file grows:
        free blocks, and space past the last block (a checkpoint that failed on a full disk
        leaves it; the next successful checkpoint truncates it)."""
        row = self.db.execute(
            "SELECT block_size, free_blocks, total_blocks FROM pragma_database_size() "
            "WHERE database_name = current_database()"
        ).fetchone()
        if not row or not row[0]:
            return 0
        block, free, total = (int(v or 0) for v in row)
        with suppress(OSError):
            tail = self.path.stat().st_size - _HEADER_BYTES - total * block
            return free * block + max(0, tail)
        return free * block

    def ensure(self, name: str, *, like: str | None = None) -> None:
        """Create the workspace table ``name`` as declared in :mod:`segmint.store.tables`.

        Nothing happens when it exists. A dynamic table whose columns come from the data
        (``customer_values``) takes them from the relation ``like`` (no rows are copied); its
        declared key columns must be among them.
        """
        spec = workspace_table(name)
        if like is None:
            self.db.execute(spec.ddl())
            return
        if not spec.dynamic:
            raise ValueError(f"'{name}' has fixed columns; create it without like=")
        names = [d[0] for d in self.db.execute(f"SELECT * FROM {like} LIMIT 0").description]
        self._check_keys(spec, names)
        self.db.execute(f"CREATE TABLE IF NOT EXISTS {quote(name)} AS SELECT * FROM {like} LIMIT 0")

    def replace_table(self, name: str, expr: ibis.Table) -> None:
        """(Re)create the dynamic workspace table ``name`` from ``expr`` (customer_features)."""
        spec = workspace_table(name)
        if not spec.dynamic:
            raise ValueError(f"'{name}' has fixed columns; create it with ensure()")
        self._check_keys(spec, list(expr.columns))
        if name == "customer_features":  # kept when a segment run segmented on it
            retire_features(self)
        else:
            self.db.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        keys = _sort_keys(expr)
        if keys is None:
            self.ibis.create_table(name, expr)
            return
        # sorted in a statement of its own: sorting the rows in the statement that joins the
        # features holds the joins' hash tables and the sort's runs at once, which passed
        # DuckDB's cap on 10M customers ("Out of Memory"); apart, each step spills
        stage = f"_segmint_stage_{name}"
        self.ibis.create_table(stage, cast(ops.Sort, expr.op()).parent.to_expr(), overwrite=True)
        self.db.execute(
            f"CREATE TABLE {quote(name)} AS SELECT * FROM {stage} ORDER BY {', '.join(keys)}"
        )
        self.db.execute(f"DROP TABLE {stage}")

    @staticmethod
    def _check_keys(spec: WorkspaceTable, columns: list[str]) -> None:
        missing = [c for c in spec.names if c not in columns]
        if missing:
            raise ValueError(f"'{spec.name}' needs the columns {missing}; got {columns}")

    def add_columns(self, table: str, new: dict[str, str]) -> None:
        """Add columns to a dynamic table (a source's extra attributes, new features).

        More than :data:`ALTER_MAX` columns rebuild the table in one statement instead: DuckDB
        keeps a catalog version of the table per ALTER until the transaction commits, so
        2,000 ALTERs of a wide table took 20 s and 1.4 GB.
        """
        if new and not workspace_table(table).dynamic:
            raise ValueError(f"'{table}' has fixed columns (segmint/store/tables.py)")
        if len(new) <= ALTER_MAX:
            for name, dtype in new.items():
                self.db.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)} {dtype}")
            return
        nulls = ", ".join(f"CAST(NULL AS {dtype}) AS {quote(name)}" for name, dtype in new.items())
        self.db.execute(
            f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT *, {nulls} FROM {quote(table)}"
        )

    def snapshot_features(self, run_id: str) -> int:
        """Keep the current ``customer_features`` as what run ``run_id`` segmented on (call
        inside the run's transaction; nothing is copied: :mod:`segmint.store.snapshots`)."""
        return record_snapshot(self, run_id)

    def instances(self, table: WorkspaceTable) -> list[str]:
        """The tables of this workspace that ``table`` declares (a family's: one per run)."""
        return [t for t in self.table_names() if table.matches(t)]

    def next_seq(self) -> int:
        # fetchall, not fetchone: the result drained, so the next query may use the connection
        rows = self.db.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()
        return int(rows[0][0]) if rows else 1

    def record_run(self, run: RunRecord) -> RunRecord:
        """Insert ``run`` (call inside the write transaction so it lands with the data)."""
        if not run.run_id:
            run.seq = self.next_seq()
            run.run_id = f"{run.seq:04d}-{run.kind}"
        finished = datetime.now(UTC).replace(tzinfo=None)
        self.db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?)",
            [
                run.run_id,
                run.seq,
                run.kind,
                run.started_at,
                finished,
                run.source,
                run.fingerprint,
                json.dumps(run.spec, default=str),
                json.dumps(run.row_counts, default=str),
                run.message,
            ],
        )
        return run

    def reserve_run(self, run: RunRecord) -> RunRecord:
        """Give ``run`` its id before the data is written (rows carry it in ``_run_id``)."""
        run.seq = self.next_seq()
        run.run_id = f"{run.seq:04d}-{run.kind}"
        return run

    def check_free_space(self, needed_bytes: int, what: str) -> None:
        """Stop before writing when the workspace's disk cannot hold ``needed_bytes``."""
        free = shutil.disk_usage(self.path.parent).free
        with suppress(duckdb.Error):  # free blocks inside the file are reused first
            free += self._free_bytes()
        if free < needed_bytes:
            raise DiskSpaceError(
                f"Importing {what} needs about {_human(needed_bytes)} of free disk space next to "
                f"the workspace, but only {_human(free)} is free on the disk holding "
                f"'{self.path.parent}'. Nothing was imported; the workspace is unchanged.",
                fix="free some space on that disk, or put the workspace on a larger disk "
                "with --workspace /bigger/disk/shop.duckdb.",
            )

    def close(self) -> None:
        with suppress(Exception):  # closing twice is harmless
            self.ibis.disconnect()

    def rewrite_file(self) -> dict[str, float]:
        """Write the workspace file anew from its live rows, and swap it in.

        A ``DELETE`` in DuckDB only marks rows deleted; their bytes stay in the table's
        blocks, and blocks that a later write frees keep their old bytes until reused (small
        segments of several tables share a block, and column statistics keep value prefixes
        in metadata). Erasing a person must leave none of their bytes in the file, so the
        file is copied (``COPY FROM DATABASE``: every table, constraint and sequence, live
        rows only) to a new file next to it, which then replaces the old one; the WAL goes
        with the old file. Every connection to the file must be closed for the swap: a second
        connection in this process (another :class:`Store` on the same file) is detected and
        the swap refused, because DuckDB would keep writing to the replaced file. Returns
        the sizes before and after and the seconds taken.
        """
        if str(self.path) == ":memory:":
            return {"bytes_before": 0.0, "bytes_after": 0.0, "seconds": 0.0}
        t0 = time.perf_counter()
        before = self.path.stat().st_size
        new = self.path.with_name(self.path.name + ".rewrite")
        for leftover in (new, Path(f"{new}.wal")):
            leftover.unlink(missing_ok=True)
        self.db.execute("CHECKPOINT")
        if self._shared():  # before the copy: the swap would be refused after it
            raise self._shared_error()
        self._reopen()
        try:
            self.db.execute(f"ATTACH {_sql_text(str(new))} AS _segmint_rewrite")
            self.db.execute("COPY FROM DATABASE " + quote(self._catalog()) + " TO _segmint_rewrite")
            self.db.execute("DETACH _segmint_rewrite")
        except duckdb.Error as exc:
            with suppress(duckdb.Error):
                self.db.execute("DETACH DATABASE IF EXISTS _segmint_rewrite")
            new.unlink(missing_ok=True)
            from segmint.store.errors import io_error, translate

            raise (translate(exc, self.path) or io_error(exc, self.path)) from None
        if self._shared():  # opened meanwhile
            new.unlink(missing_ok=True)
            raise self._shared_error()
        os.replace(new, self.path)
        Path(f"{self.path}.wal").unlink(missing_ok=True)
        self._reopen()
        return {
            "bytes_before": float(before),
            "bytes_after": float(self.path.stat().st_size),
            "seconds": time.perf_counter() - t0,
        }

    def _shared(self) -> bool:
        """Whether another connection in this process has the file open. Closes this one;
        it is open again afterwards only when shared (the caller swaps, then reopens).

        A setting only this database instance has is still there after closing our
        connection when another connection keeps the instance (and the old file) open.
        """
        self.db.execute("SET GLOBAL checkpoint_threshold = '987654321b'")
        marker = self.db.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        self.close()
        probe = duckdb.connect(str(self.path))
        try:
            now = probe.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
            shared = now == marker
            if shared:
                with suppress(duckdb.Error):
                    probe.execute("RESET GLOBAL checkpoint_threshold")
        finally:
            probe.close()
        if shared:
            self._reopen()
        return shared

    @staticmethod
    def _shared_error() -> WorkspaceError:
        return WorkspaceError(
            "The workspace file could not be rewritten: another connection in this process "
            "has it open, and it would keep writing to the old file.",
            fix="close the other Workspace objects on this file (ws.close()), then run "
            "`segmint compact` (or ws.compact()); the rows are already deleted, only the "
            "rewrite of the file is left.",
        )

    def _catalog(self) -> str:
        row = self.db.execute("SELECT current_database()").fetchone()
        return str(row[0]) if row else "memory"

    def _reopen(self) -> None:
        self.ibis = ibis.duckdb.connect(str(self.path), read_only=self.read_only)
        self.db = self.ibis.con
        self.db.execute("SET TimeZone = 'UTC'")
        self._limit_memory()

    # -- inspection ------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """Row count and an order-independent content hash per table (used by tests/status)."""
        out: dict[str, Any] = {}
        for name in self.table_names():
            row = self.db.execute(
                f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {quote(name)} t"
            ).fetchone()
            out[name] = (int(row[0]), int(row[1])) if row else (0, 0)
        return out


def lineage_names() -> list[str]:
    return [c.name for c in LINEAGE]


def canonical_names() -> list[str]:
    return list(CANONICAL)


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _open_error(path: Path, exc: duckdb.Error) -> WorkspaceError:
    """Opening failed: locked, unreadable, or not a DuckDB file."""
    from segmint.store.errors import io_error

    if isinstance(exc, duckdb.IOException | duckdb.PermissionException):
        return io_error(exc, path)
    return WorkspaceError(
        f"The workspace '{path}' could not be opened: {str(exc).splitlines()[0]}",
        fix="check that the path is a segmint workspace (a DuckDB file).",
    )


def _sort_keys(expr: ibis.Table) -> list[str] | None:
    """The ORDER BY terms when ``expr`` ends in a sort by plain columns, else None."""
    op = expr.op()
    if not isinstance(op, ops.Sort):
        return None
    keys = []
    for key in op.keys:
        if not isinstance(key.arg, ops.Field):
            return None
        direction = "ASC" if key.ascending else "DESC"
        nulls = "NULLS FIRST" if key.nulls_first else "NULLS LAST"
        keys.append(f"{quote(str(key.arg.name))} {direction} {nulls}")
    return keys
