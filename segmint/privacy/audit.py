"""The audit log: who did what, when and from where (``audit_log``).

Every import, clean, run, export, erasure, token change, sign-in and other change to a
workspace adds one row, written in the same transaction as the change where there is one (a
change without its audit row cannot land). *Who* is the API token's name (or the web user's
token) on the server and the operating-system user on the CLI and in Python; *from where* is
the client's address on the server, ``cli`` or ``python`` otherwise. The interfaces say who is
acting with :func:`acting_as` (a context variable, so every thread and request has its own);
stage code only calls :func:`record`.

The log holds no customer data: a target that names a customer is stored as a keyed hash
(:func:`segmint.privacy.keys.keyed_hash`), and ``detail`` carries counts and settings only.
"""

from __future__ import annotations

import contextvars
import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from segmint.exceptions import InputError

if TYPE_CHECKING:
    import duckdb

    from segmint.store import Store

__all__ = ["Actor", "acting_as", "current_actor", "entries", "os_user", "parse_since", "record"]


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where."""

    name: str
    origin: str


def os_user() -> str:
    """The operating-system user (``uid 1000`` in a container without a user name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


_ACTOR: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("segmint_actor", default=None)


def current_actor() -> Actor:
    """The actor set by :func:`acting_as`, else the OS user calling from Python."""
    return _ACTOR.get() or Actor(os_user(), "python")


@contextmanager
def acting_as(name: str | None = None, origin: str = "python") -> Iterator[Actor]:
    """Record what happens inside as done by ``name`` (default: the OS user) from ``origin``."""
    actor = Actor(name or os_user(), origin)
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)


def record(
    db: Store | duckdb.DuckDBPyConnection,
    action: str,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Add one row to ``audit_log`` (created when missing). Call inside the change's
    transaction when it has one. ``target`` and ``detail`` must not hold customer data."""
    con: duckdb.DuckDBPyConnection = getattr(db, "db", db)  # type: ignore[arg-type]
    from segmint.store.tables import workspace_table

    con.execute(workspace_table("audit_log").ddl())
    who = actor or current_actor()
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
        [
            datetime.now(UTC).replace(tzinfo=None),
            who.name,
            who.origin,
            action,
            target,
            json.dumps(detail or {}, default=str, sort_keys=True),
        ],
    )


def entries(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The log, newest first: rows at or after ``since``; ``action`` keeps one action and
    the actions under it (``token`` keeps ``token.create`` and ``token.revoke``)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_log' "
        "AND table_schema = 'main' AND table_catalog = current_database()"
    ).fetchone()
    if not exists or not exists[0]:
        return []
    sql = "SELECT logged_at, actor, origin, action, target, detail FROM audit_log"
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append("logged_at >= ?")
        params.append(since)
    if action:
        where.append("(action = ? OR starts_with(action, ?))")
        params += [action, action + "."]
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY logged_at DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, params).fetchall()
    cols = ("logged_at", "actor", "origin", "action", "target", "detail")
    out = [dict(zip(cols, r, strict=True)) for r in rows]
    for e in out:
        e["detail"] = json.loads(e["detail"]) if e["detail"] else {}
    return out


def parse_since(value: str | date | datetime | None) -> datetime | None:
    """``--since``: a date (``2026-12-01``, from its midnight) or a time (``2026-12-01T08:30``),
    in UTC like the log; a time with an offset is converted to UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(
                f"'{value}' is not a date or a time.",
                fix="give a date as YYYY-MM-DD (e.g. --since 2026-12-01) or a time as "
                "YYYY-MM-DDTHH:MM, in UTC.",
            ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
