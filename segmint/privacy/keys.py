"""The privacy key and keyed hashes (HMAC-SHA-256): suppression list, audit targets, pseudonyms.

A keyed hash, unlike a plain SHA-256, cannot be reversed by hashing every e-mail address one
can guess: without the key the hashes in a workspace say nothing. The key is therefore kept
*outside* the workspace file, where the user decides:

1. ``SEGMINT_PRIVACY_KEY``: the key itself (at least 32 characters; 64 hex digits are read
   as 32 bytes), e.g. from a secrets manager;
2. ``SEGMINT_PRIVACY_KEY_FILE``: a file holding it;
3. otherwise ``<workspace>.key`` next to the workspace file (``shop.duckdb`` →
   ``shop.duckdb.key``), created on first use with 32 random bytes, readable by its owner
   only. Keep it with the backups of the workspace, not inside them.

The workspace stores a check value (an HMAC of a fixed text) in ``settings``; opening it with
another key is refused, because every suppression and pseudonym made with the old key would
silently stop matching. Values are normalized before hashing (:func:`normalize`) so that
``Ann@Example.org `` and ``ann@example.org`` give one hash. :func:`hmac_sql` computes the same
HMAC inside DuckDB (tested against :mod:`hmac`), so millions of rows are hashed in the engine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from segmint.exceptions import WorkspaceError

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "Kind",
    "customer_target",
    "hmac_sql",
    "key_path",
    "keyed_hash",
    "normalize",
    "normalize_sql",
    "workspace_key",
]

KEY_ENV = "SEGMINT_PRIVACY_KEY"
KEY_FILE_ENV = "SEGMINT_PRIVACY_KEY_FILE"
#: what a keyed hash identifies (kept with it in ``suppressions``)
Kind = Literal["customer_id", "email", "phone"]
_CHECK_TEXT = "segmint privacy key check"
_MEMORY_KEY = secrets.token_bytes(32)  # an in-memory workspace lives as long as the process


def key_path(workspace: str | os.PathLike[str]) -> Path | None:
    """The key file used for ``workspace`` (None when the key comes from the environment)."""
    if os.environ.get(KEY_ENV):
        return None
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV]).expanduser()
    return Path(f"{workspace}.key")


def _decode(text: str, where: str) -> bytes:
    text = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64,}", text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    if len(text) < 32:
        raise WorkspaceError(
            f"The privacy key in {where} is {len(text)} characters long; it needs at least 32.",
            fix=f'use 64 hex digits, e.g. `python -c "import secrets; print(secrets.token_hex(32))"`'
            f", in {KEY_ENV} or in the file {KEY_FILE_ENV} names.",
        )
    return text.encode()


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        try:
            return _decode(path.read_text(encoding="utf-8"), f"'{path}'")
        except OSError as exc:
            raise WorkspaceError(
                f"The privacy key file '{path}' cannot be read ({exc.strerror}).",
                fix=f"check its permissions, or give the key in {KEY_ENV}.",
            ) from None
    if os.environ.get(KEY_FILE_ENV):  # a named file must exist: a typo must not make a new key
        raise WorkspaceError(
            f"{KEY_FILE_ENV} names '{path}', which does not exist.",
            fix="correct the path, or unset the variable to use the key next to the workspace.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return bytes.fromhex(key)


def workspace_key(store: Store) -> bytes:
    """The privacy key of ``store``'s workspace, checked against the value the workspace keeps.

    The first call records the check value; a later call with another key raises
    :class:`~segmint.exceptions.WorkspaceError`.
    """
    cached = getattr(store, "_privacy_key", None)
    if cached is not None:
        return bytes(cached)
    if str(store.path) == ":memory:":
        key = _MEMORY_KEY
    elif os.environ.get(KEY_ENV):
        key = _decode(os.environ[KEY_ENV], KEY_ENV)
    else:
        path = key_path(store.path)
        assert path is not None
        key = _read_or_create(path)
    check = keyed_hash(key, _CHECK_TEXT)[:16]
    if not store.read_only:
        store.ensure("settings")
    stored = None
    if "settings" in store.table_names():
        row = store.db.execute(
            "SELECT value FROM settings WHERE name = 'privacy_key_check'"
        ).fetchone()
        stored = json.loads(row[0]) if row else None
    if stored is None and not store.read_only:
        store.db.execute(
            "INSERT INTO settings VALUES ('privacy_key_check', ?, now()::TIMESTAMP)",
            [json.dumps(check)],
        )
    elif stored is not None and stored != check:
        where = KEY_ENV if os.environ.get(KEY_ENV) else f"'{key_path(store.path)}'"
        raise WorkspaceError(
            f"The privacy key in {where} is not the key this workspace was used with: its "
            "suppression list, audit hashes and pseudonyms would no longer match.",
            fix=f"give the workspace's own key (its file {store.path}.key, or "
            f"{KEY_ENV} / {KEY_FILE_ENV} as they were set before).",
        )
    store._privacy_key = key  # type: ignore[attr-defined]
    return key


def normalize(kind: str, value: object) -> str | None:
    """The form a value is hashed in: ids trimmed, e-mails trimmed and lower-cased, phones as
    their digits (``+1 (415) 555-0100`` → ``14155550100``). None when nothing is left."""
    if value is None:
        return None
    text = str(value).strip()
    if kind == "email":
        text = text.lower()
    elif kind == "phone":
        text = re.sub(r"\D", "", text)
    return text or None


def normalize_sql(kind: str, expr: str) -> str:
    """:func:`normalize` as a DuckDB expression over the SQL expression ``expr``."""
    text = f"trim(CAST({expr} AS VARCHAR))"
    if kind == "email":
        text = f"lower({text})"
    elif kind == "phone":
        text = f"regexp_replace({text}, '[^0-9]', '', 'g')"
    return f"nullif({text}, '')"


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA-256 of ``text`` (UTF-8) under ``key``, as 64 hex digits."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def customer_target(store: Store, customer_id: str) -> str:
    """How an audit row names one customer: the keyed hash of their (normalized) id, so that
    every row about them (consent changes, subject-access requests) is found by one value."""
    return keyed_hash(workspace_key(store), normalize("customer_id", customer_id) or "")


def _blob(data: bytes) -> str:
    return "'" + "".join(f"\\x{b:02X}" for b in data) + "'::BLOB"


def hmac_sql(key: bytes, expr: str) -> str:
    """A DuckDB expression: the hex HMAC-SHA-256 of the text expression ``expr`` under ``key``
    (equal to :func:`keyed_hash`; NULL stays NULL). RFC 2104, with SHA-256's 64-byte block."""
    k = hashlib.sha256(key).digest() if len(key) > 64 else key
    k = k.ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)
    return f"sha256({_blob(outer)} || unhex(sha256({_blob(inner)} || encode(CAST({expr} AS VARCHAR)))))"
