"""Subject access and portability (GDPR art. 15 and 20): everything held about one person.

A person asking what a business holds about them must get all of it, in a form another
service can read. Rather than listing tables by hand (and missing the next one added), this
walks the workspace's registry (:func:`segmint.store.tables.customer_keyed_tables`, with each
family's per-run tables from :meth:`Store.instances`), so a new customer-keyed table is
included the day it is declared. Around the raw rows it answers the questions people ask:
which segments they were put in, run by run; which audience files (exports) contained them,
where those went; which split tests they were in; their consent history (a ``consent_events``
table, where there is one); the sampled bad values of the quality checks that quote their
e-mail or phone; and the audit log rows about them (found by the keyed hash of their id).

The result is plain JSON (dates as ISO text, numbers as numbers) with a header saying when it
was made, from which workspace, for which identifiers, and a summary in words. Each call adds
one ``subject_access`` audit row per customer id, targeted by its keyed hash.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segmint.exceptions import InputError
from segmint.privacy.audit import record
from segmint.privacy.keys import customer_target, normalize, normalize_sql
from segmint.privacy.pseudonyms import customer_keys
from segmint.privacy.subject import resolve
from segmint.store.tables import customer_keyed_tables

if TYPE_CHECKING:
    from segmint.store import Store

__all__ = ["FORMAT", "subject_access", "subject_target"]

#: the format of the file, so that a reader can tell versions apart
FORMAT = "segmint subject access 1"


def subject_target(store: Store, customer_id: str) -> str:
    """The audit target that stands for ``customer_id``: its keyed hash (HMAC-SHA-256)."""
    return customer_target(store, customer_id)


def subject_access(
    store: Store,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """Everything ``store`` holds about the person one identifier stands for, as JSON data.

    Exactly one of ``customer_id``, ``email`` and ``phone`` is given (e-mails match whatever
    their case, phones whatever their punctuation). Raises
    :class:`~segmint.exceptions.InputError` when nobody matches.
    """
    given = {k: v for k, v in (("customer_id", customer_id), ("email", email), ("phone", phone))}
    ids = resolve(store, customer_id=customer_id, email=email, phone=phone)
    kind = next(k for k, v in given.items() if v is not None)
    if not ids:
        raise InputError(
            f"Nobody in the workspace matches the {kind.replace('_', ' ')} given "
            "(customers and orders searched, e-mails in lower case, phones as digits); "
            "nothing was written.",
            where=str(store.path),
            fix="check the value, or search by another identifier (--customer, --email, --phone).",
        )
    present = set(store.table_names())
    keys = customer_keys(store, ids)  # with their pseudonyms when derived tables hold them
    tables = _keyed_rows(store, keys)
    contacts = _contacts(tables, given)
    out: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "workspace": str(store.path),
        "searched": {k: v for k, v in given.items() if v is not None},
        "customer_ids": ids,
        "summary": "",
        "segments": _segments(store, keys, present),
        "exports": _exports(store, keys, present),
        "experiments": _experiments(store, keys, present),
        "consent_history": _rows(store, "consent_events", ids, present),
        "quality_samples": _quality(store, ids, contacts, present),
        "audit_log": _audit(store, ids, present),
        "tables": tables,
    }
    out["summary"] = _summary(out)
    if not store.read_only:
        for cid in ids:
            record(
                store,
                "subject_access",
                target=subject_target(store, cid),
                detail={"rows": {t: len(r) for t, r in tables.items()}},
            )
    return out


def _keyed_rows(store: Store, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    present = set(store.table_names())
    for spec in customer_keyed_tables():
        for name in store.instances(spec):
            rows = _rows(store, name, ids, present, columns=spec.customer_columns)
            if rows:
                found[name] = rows
    return found


def _rows(
    store: Store,
    table: str,
    ids: list[str],
    present: set[str],
    *,
    columns: tuple[str, ...] = ("customer_id",),
) -> list[dict[str, Any]]:
    """The rows of ``table`` in which any of ``columns`` names one of ``ids``."""
    have = store.columns(table) if table in present else {}
    where = " OR ".join(f'"{c}" IN $ids' for c in columns if c in have)
    if not where:
        return []
    return _query(store, f'SELECT * FROM "{table}" WHERE {where}', {"ids": ids})


def _query(store: Store, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    cur = store.db.cursor().execute(sql, params)
    names = [d[0] for d in cur.description or []]
    types = [str(d[1]) for d in cur.description or []]
    return [
        {n: _plain(v, t) for n, t, v in zip(names, types, row, strict=True)}
        for row in cur.fetchall()
    ]


def _plain(value: Any, dtype: str) -> Any:
    """A value as JSON data: JSON columns parsed, dates ISO, decimals and floats numbers."""
    if value is None:
        return None
    if dtype == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v, "") for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, "") for k, v in value.items()}
    return str(value)


def _segments(store: Store, ids: list[str], present: set[str]) -> list[dict[str, Any]]:
    if "segment_assignments" not in present:
        return []
    return _query(
        store,
        "SELECT a.run_id, r.finished_at AS run_at, a.segmentation, a.customer_id, "
        "a.segment, a.segment_name FROM segment_assignments a "
        "LEFT JOIN runs r USING (run_id) WHERE a.customer_id IN ? "
        "ORDER BY r.seq, a.segmentation",
        [ids],
    )


def _exports(store: Store, ids: list[str], present: set[str]) -> list[dict[str, Any]]:
    if not {"exports", "export_members"} <= present:
        return []
    return _query(
        store,
        "SELECT e.export_id, e.created_at, e.created_by, e.destination, e.path, e.run_id, "
        "e.segmentation, e.segments, e.hashed, e.label, m.customer_id "
        "FROM export_members m JOIN exports e USING (export_id) "
        "WHERE m.customer_id IN ? ORDER BY e.created_at, e.export_id",
        [ids],
    )


def _experiments(store: Store, ids: list[str], present: set[str]) -> list[dict[str, Any]]:
    if not {"experiments", "experiment_assignments"} <= present:
        return []
    return _query(
        store,
        "SELECT x.experiment_id, x.name, x.created_at, x.run_id, x.segmentation, "
        "a.customer_id, a.segment, a.variant, a.variant = x.control AS held_out "
        "FROM experiment_assignments a JOIN experiments x USING (experiment_id) "
        "WHERE a.customer_id IN ? ORDER BY x.created_at",
        [ids],
    )


def _contacts(
    tables: dict[str, list[dict[str, Any]]], given: dict[str, Any]
) -> dict[str, set[str]]:
    """The person's e-mails (lower case) and phones (digits) found in their rows."""
    found: dict[str, set[str]] = {"email": set(), "phone": set()}
    rows = [*tables.get("customers", []), *tables.get("orders", []), given]
    for kind, values in found.items():
        for row in rows:
            text = normalize(kind, row.get(kind))
            if text and (kind == "email" or len(text) >= 6):  # a short number is no phone
                values.add(text)
    return found


def _quality(
    store: Store, ids: list[str], contacts: dict[str, set[str]], present: set[str]
) -> list[dict[str, Any]]:
    if "quality_issues" not in present:
        return []
    return _query(
        store,
        "SELECT * FROM quality_issues WHERE "
        f"({normalize_sql('email', 'value')} IN ?) "
        f"OR (column_name ILIKE '%phone%' AND {normalize_sql('phone', 'value')} IN ?) "
        "OR (column_name = 'customer_id' AND trim(value) IN ?) ORDER BY run_id, row",
        [sorted(contacts["email"]) or [""], sorted(contacts["phone"]) or [""], ids],
    )


def _audit(store: Store, ids: list[str], present: set[str]) -> list[dict[str, Any]]:
    if "audit_log" not in present:
        return []
    targets = [subject_target(store, cid) for cid in ids]
    return _query(store, "SELECT * FROM audit_log WHERE target IN ? ORDER BY logged_at", [targets])


def _summary(out: dict[str, Any]) -> str:
    ids = out["customer_ids"]
    who = f"customer {ids[0]}" if len(ids) == 1 else f"customers {', '.join(ids)}"
    held = [f"{len(r):,} row{'s' if len(r) != 1 else ''} in {t}" for t, r in out["tables"].items()]
    runs = {s["run_id"] for s in out["segments"]}
    parts = [
        f"The workspace holds {', '.join(held) or 'no rows'} about {who}.",
        f"They were placed in {len(out['segments']):,} segment"
        f"{'s' if len(out['segments']) != 1 else ''} across {len(runs):,} segment run"
        f"{'s' if len(runs) != 1 else ''}.",
        f"{len({e['export_id'] for e in out['exports']}):,} audience file(s) contained them; "
        f"{len({x['experiment_id'] for x in out['experiments']}):,} split test(s) included "
        "them.",
        f"{len(out['consent_history']):,} consent record(s), "
        f"{len(out['quality_samples']):,} quality sample(s) quoting their e-mail, phone or "
        f"id, {len(out['audit_log']):,} audit row(s) about them.",
    ]
    return " ".join(parts)
