"""API tokens with roles: created once, shown once, stored only as a SHA-256 hash.

Roles are ordered: ``viewer`` (read) < ``analyst`` (run, rename, export) < ``admin`` (tokens,
settings, erase). A token is 32 random bytes (URL-safe text with a ``sgm_`` prefix); the
workspace keeps its SHA-256 and compares hashes with :func:`hmac.compare_digest`. Tokens
are high-entropy, so a plain hash is enough: no password stretching is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from segmint.api.metadb import cursor_of
from segmint.privacy import audit
from segmint.store import workspace_table

__all__ = ["ROLES", "Principal", "TokenStore", "role_allows"]

ROLES = ("viewer", "analyst", "admin")
PREFIX = "sgm_"

#: declared with every other workspace table in segmint/store/tables.py
DDL = workspace_table("api_tokens").ddl()


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` is ``needed`` or above it."""
    return ROLES.index(role) >= ROLES.index(needed)


@contextmanager
def _together(cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A token change and its audit row land together or not at all."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name and role."""

    token_id: str
    name: str
    role: str


class TokenStore:
    """Tokens in the workspace table ``api_tokens``; verification is cached in memory."""

    def __init__(self, db: duckdb.DuckDBPyConnection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock
        with lock, cursor_of(db) as cur:
            cur.execute(DDL)
            # made now, so that a request's row never races a job's first one to create it
            cur.execute(workspace_table("audit_log").ddl())
        self._cache: dict[str, Principal] = {}
        self._reload()

    def _reload(self) -> None:
        with cursor_of(self._db) as cur:
            rows = cur.execute(
                "SELECT token_id, name, role, token_hash FROM api_tokens WHERE revoked_at IS NULL"
            ).fetchall()
        self._cache = {h: Principal(i, n, r) for i, n, r, h in rows}

    def create(self, name: str, role: str) -> tuple[Principal, str]:
        """A new token (returned once, in plain text) with ``role``."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        token = PREFIX + secrets.token_urlsafe(32)
        principal = Principal(uuid.uuid4().hex[:12], name, role)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._lock, cursor_of(self._db) as conn, _together(conn) as cur:
            cur.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                [principal.token_id, name, role, _hash(token), now],
            )
            audit.record(
                cur, "token.create", target=principal.token_id, detail={"name": name, "role": role}
            )
        self._reload()
        return principal, token

    def verify(self, token: str | None) -> Principal | None:
        """The token's principal, or None. Compares every stored hash in constant time."""
        if not token:
            return None
        digest = _hash(token)
        found = None
        for stored, principal in self._cache.items():
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

    def revoke(self, token_id: str) -> bool:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._lock, cursor_of(self._db) as conn, _together(conn) as cur:
            cur.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                [now, token_id],
            )
            changed = cur.execute(
                "SELECT count(*) FROM api_tokens WHERE token_id = ? AND revoked_at = ?",
                [token_id, now],
            ).fetchone()
            if changed and changed[0]:
                audit.record(cur, "token.revoke", target=token_id)
        self._reload()
        return bool(changed and changed[0])

    def list(self) -> list[dict[str, Any]]:
        with cursor_of(self._db) as cur:
            rows = cur.execute(
                "SELECT token_id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at"
            ).fetchall()
        keys = ("token_id", "name", "role", "created_at", "revoked_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def count_admins(self) -> int:
        return sum(1 for p in self._cache.values() if p.role == "admin")
