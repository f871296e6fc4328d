"""Consent per channel: the flags on ``customers`` and their history in ``consent_events``.

Why two places: every path that builds an audience reads one flag per customer and channel
(``customers.consent_email``, ``consent_sms``, ``consent_ads``, ``consent_profiling``), which is
cheap and the same on every path; a regulator or the customer asks *when* and *where* a consent
was given or taken back, which the flags cannot say. The history follows Apache Unomi's consent
records: each event is ``granted``, ``denied`` or ``revoked`` (a grant taken back), with the date
the customer gave it and its source (the imported file, ``segmint consent``, an API token).

The two channels of contact differ from profiling in what a missing value means:

* e-mail, SMS, ads: missing counts as *no* consent on every audience path (exports and the
  variant files of split tests, both through :mod:`segmint.activate.export`); only
  ``--assume-consent`` counts it as consent, and never an explicit false;
* profiling: segmenting customers rests on legitimate interest (GDPR art. 6(1)(f)) until the
  customer objects (art. 21), so only an explicit false leaves a customer out of
  segmentations (:func:`objections`); missing means not objected.

An import records an event only where a flag differs from the customer's last record (one
set-based statement in the import's transaction, :func:`record_imported`), and a file that says
nothing about a channel keeps the last recorded value instead of blanking it: a later customers
file without a profiling column must not undo an objection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from segmint.exceptions import InputError, SpecError
from segmint.privacy.audit import current_actor, record
from segmint.privacy.keys import keyed_hash, workspace_key
from segmint.store.tables import workspace_table

if TYPE_CHECKING:
    import duckdb
    import ibis

    from segmint.store import Store

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "STATUSES",
    "ConsentEvent",
    "column",
    "consent_history",
    "objections",
    "record_imported",
    "set_consent",
]

CHANNELS = ("email", "sms", "ads", "profiling")
#: what a user asks (``--grant``) → what is recorded
ACTIONS = {"grant": "granted", "deny": "denied", "revoke": "revoked"}
STATUSES = tuple(ACTIONS.values())
_EVENT_COLUMNS = ("customer_id", "channel", "status", "at", "source", "run_id", "recorded_at")
_SELECT = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)


@dataclass(frozen=True)
class ConsentEvent:
    """One consent record: a customer's grant, denial or revocation on one channel."""

    customer_id: str
    channel: str
    status: str
    at: datetime
    source: str | None
    run_id: str | None
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat(timespec="seconds")
        d["recorded_at"] = self.recorded_at.isoformat(timespec="seconds")
        return d


def column(channel: str) -> str:
    """The ``customers`` column holding a channel's flag (``email`` → ``consent_email``)."""
    if channel not in CHANNELS:
        raise SpecError(
            f"The consent channel must be one of {', '.join(CHANNELS)}. Got {channel!r}.",
            fix="e.g. --channel email (or profiling, to record an objection to profiling).",
        )
    return f"consent_{channel}"


def _status(status: str) -> str:
    found = ACTIONS.get(status, status)
    if found not in STATUSES:
        raise SpecError(
            f"The consent status must be one of {', '.join(STATUSES)} (or grant, deny, "
            f"revoke). Got {status!r}.",
            fix="--grant, --deny or --revoke (Python and the API: status='granted', …).",
        )
    return found


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def set_consent(
    store: Store,
    customer_id: str,
    channel: str,
    status: str,
    *,
    source: str | None = None,
    at: datetime | None = None,
) -> ConsentEvent:
    """Record ``customer_id``'s consent on ``channel``: the flag on ``customers`` and one event.

    ``status``: ``granted`` / ``denied`` / ``revoked`` (or ``grant`` / ``deny`` / ``revoke``);
    granted sets the flag true, the other two false. ``source`` defaults to who is acting
    (:func:`segmint.privacy.audit.current_actor`); ``at`` to now (UTC). The flag, the event and
    an audit row (the customer as a keyed hash) are written in one transaction.
    """
    col, found = column(channel), _status(status)
    customer_id = str(customer_id).strip()
    if not _known(store, customer_id):
        raise InputError(
            f"There is no customer '{customer_id}' in the workspace '{store.path}'.",
            fix="give a customer id as imported (segmint consent show --customer ID lists its "
            "history); import the customer first if they are new.",
        )
    key = workspace_key(store)  # may write the key's check value: before the transaction
    now = _now()
    event = ConsentEvent(
        customer_id, channel, found, at or now, source or current_actor().name, None, now
    )
    with store.transaction() as tx:
        store.ensure("consent_events")
        tx.execute(f'ALTER TABLE customers ADD COLUMN IF NOT EXISTS "{col}" BOOLEAN')
        tx.execute(
            f'UPDATE customers SET "{col}" = ? WHERE customer_id = ?',
            [found == "granted", customer_id],
        )
        tx.execute(
            "INSERT INTO consent_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            [getattr(event, c) for c in _EVENT_COLUMNS],
        )
        record(
            tx,
            "consent.set",
            target=keyed_hash(key, customer_id),
            detail={"channel": channel, "status": found},
        )
    return event


def _known(store: Store, customer_id: str) -> bool:
    if not store.has_table("customers"):
        return False
    row = store.db.execute(
        "SELECT count(*) FROM customers WHERE customer_id = ?", [customer_id]
    ).fetchone()
    return bool(row and row[0])


def consent_history(store: Store, customer_id: str) -> list[ConsentEvent]:
    """Every consent record of ``customer_id``, oldest first (empty when there is none)."""
    if not store.has_table("consent_events"):
        return []
    rows = store.db.execute(
        f"SELECT {_SELECT} FROM consent_events WHERE customer_id = ? ORDER BY recorded_at, channel",
        [str(customer_id).strip()],
    ).fetchall()
    return [ConsentEvent(*r) for r in rows]


def record_imported(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    columns: set[str],
    at: datetime | None = None,
) -> int:
    """Record the consent flags an import of ``customers`` brought; return the events added.

    Call inside the import's transaction, after its rows are in ``customers`` (``_run_id`` =
    ``run_id``). ``columns``: the canonical columns the source mapped. Per customer and
    channel the file's last non-missing value becomes an event when it differs from the
    customer's last record (true → granted; false → revoked after a grant, else denied),
    dated by the file's ``consent_at`` when mapped, else ``at`` (the import time). Then the
    new rows' missing flags take the customer's last recorded value.
    """
    mapped = [c for c in CHANNELS if f"consent_{c}" in columns]
    now = at or _now()
    con.execute(workspace_table("consent_events").ddl())
    mine = "customer_id IN (SELECT customer_id FROM customers WHERE _run_id = $run)"
    added = 0
    if mapped:
        when = "coalesce(consent_at, $now)" if "consent_at" in columns else "$now"
        picks = ", ".join(f'consent_{c} AS "{c}"' for c in mapped)
        row = con.execute(
            f"""
            INSERT INTO consent_events
            WITH given AS (
              SELECT customer_id, channel, arg_max(value, _row) AS value,
                     arg_max(given_at, _row) AS given_at
              FROM (UNPIVOT (SELECT customer_id, _row, {when} AS given_at, {picks} FROM customers
                             WHERE _run_id = $run AND customer_id IS NOT NULL)
                    ON {", ".join(f'"{c}"' for c in mapped)} INTO NAME channel VALUE value)
              GROUP BY ALL
            ), latest AS (
              SELECT customer_id, channel, arg_max(status, recorded_at) AS status
              FROM consent_events WHERE {mine} GROUP BY ALL
            )
            SELECT g.customer_id, g.channel,
                   CASE WHEN g.value THEN 'granted'
                        WHEN l.status = 'granted' THEN 'revoked' ELSE 'denied' END,
                   g.given_at, $source, $run, $now
            FROM given g LEFT JOIN latest l USING (customer_id, channel)
            WHERE l.status IS NULL OR (l.status = 'granted') <> g.value
            """,
            {"run": run_id, "source": source, "now": now},
        ).fetchone()
        added = int(row[0]) if row else 0
    # a file silent about a channel keeps the last record (an objection is not undone)
    last = ", ".join(
        f"arg_max(status, recorded_at) FILTER (channel = '{c}') = 'granted' AS {c}"
        for c in CHANNELS
    )
    sets = ", ".join(f"consent_{c} = coalesce(customers.consent_{c}, l.{c})" for c in CHANNELS)
    con.execute(
        f"UPDATE customers SET {sets} FROM (SELECT customer_id, {last} FROM consent_events "
        f"WHERE {mine} GROUP BY customer_id) l "
        "WHERE customers.customer_id = l.customer_id AND customers._run_id = $run",
        {"run": run_id},
    )
    return added


def objections(store: Store) -> ibis.Table | None:
    """The customers who objected to profiling (one column, ``customer_id``), or None when the
    workspace records no such column. Segment runs leave them out."""
    if not store.has_table("customers") or "consent_profiling" not in store.columns("customers"):
        return None
    t = store.table("customers")
    return t.filter(t.consent_profiling == False).select("customer_id").distinct()  # noqa: E712
