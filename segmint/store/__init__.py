"""The workspace store: DuckDB through Ibis, transactions, runs, every table's declaration."""

from segmint.store._store import MEMORY_LIMIT_ENV, RunRecord, Store, memory_limit, quote
from segmint.store.csvsafe import (
    FORMULA_STARTS,
    frame_to_csv,
    frame_to_csv_text,
    neutralize,
    neutralize_frame,
    neutralize_table,
    table_to_csv,
)
from segmint.store.errors import engine_errors, translate
from segmint.store.schema import CANONICAL, TableSchema
from segmint.store.snapshots import (
    read_snapshot,
    set_aside_features,
    settle_aside,
    snapshot_runs,
)
from segmint.store.tables import (
    TABLES,
    TableKind,
    WorkspaceTable,
    customer_keyed_tables,
    workspace_table,
)

__all__ = [
    "CANONICAL",
    "FORMULA_STARTS",
    "MEMORY_LIMIT_ENV",
    "TABLES",
    "RunRecord",
    "Store",
    "TableKind",
    "TableSchema",
    "WorkspaceTable",
    "customer_keyed_tables",
    "engine_errors",
    "frame_to_csv",
    "frame_to_csv_text",
    "memory_limit",
    "neutralize",
    "neutralize_frame",
    "neutralize_table",
    "quote",
    "read_snapshot",
    "set_aside_features",
    "settle_aside",
    "snapshot_runs",
    "table_to_csv",
    "translate",
    "workspace_table",
]
