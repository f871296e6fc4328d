"""The workspace store: DuckDB through Ibis, transactions, runs, the canonical schema."""

from segmint.store._store import RunRecord, Store
from segmint.store.schema import CANONICAL, TableSchema

__all__ = ["CANONICAL", "RunRecord", "Store", "TableSchema"]
