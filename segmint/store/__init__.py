"""The workspace store: DuckDB through Ibis, transactions, runs, every table's declaration."""

from segmint.store._store import MEMORY_LIMIT_ENV, RunRecord, Store, memory_limit, quote
from segmint.store.errors import engine_errors, translate
from segmint.store.schema import CANONICAL, TableSchema
from segmint.store.snapshots import read_snapshot, snapshot_runs
from segmint.store.tables import (
    TABLES,
    TableKind,
    WorkspaceTable,
    customer_keyed_tables,
    workspace_table,
)

__all__ = [
    "CANONICAL",
    "MEMORY_LIMIT_ENV",
    "TABLES",
    "RunRecord",
    "Store",
    "TableKind",
    "TableSchema",
    "WorkspaceTable",
    "customer_keyed_tables",
    "engine_errors",
    "memory_limit",
    "quote",
    "read_snapshot",
    "snapshot_runs",
    "translate",
    "workspace_table",
]
