"""The server's own connection (tokens, jobs), borrowed for one statement or transaction.

The server's :class:`~segmint.api.state.AppState` hands :class:`~segmint.api.jobs.JobRunner`
and :class:`~segmint.api.auth.TokenStore` a connection that an erasure closes and opens again
(the workspace file is rewritten). A statement and its fetch therefore run inside
:func:`cursor_of`, which that connection's ``session()`` guards: a rewrite waits for a
statement that began before it, and one that begins during it waits for the new connection.
A plain DuckDB connection (the CLI, tests) is used as it is.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import duckdb

__all__ = ["cursor_of"]


def cursor_of(db: Any) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A cursor on ``db`` for the ``with`` block: its statements and fetches end inside it."""
    session = getattr(db, "session", None)
    if session is not None:
        cm: AbstractContextManager[duckdb.DuckDBPyConnection] = session()
        return cm
    return nullcontext(db.cursor())
