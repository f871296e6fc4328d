"""Retention: delete the rows older than the spec's ``retention:`` limits, in one transaction.

Storage limitation (GDPR art. 5(1)(e)) means data is kept no longer than its purpose needs;
the spec says how long per kind of row (:mod:`segmint.spec.retention`), and this module turns
each limit into a cutoff counted back from now (UTC) and deletes what is older. Every delete
and the audit row (``retention.apply``: counts and cutoffs, no customer data) land together or
not at all. A dry run counts the same rows and changes nothing, not even the audit log.

What stays, on purpose:

- a row whose time is missing (NULL): its age is unknown, so no limit applies to it;
- ``customers``: a customer whose orders and events are all gone keeps their row (their
  profile and consent are not time-stamped activity; erase them with ``segmint erase``);
- the ``exports`` log rows when ``export_members`` is trimmed (the record that a file was
  sent stays; who was in it goes), and ``quality_counts`` (counts, no values);
- derived tables (features, assignments, per-run snapshots): the next run rebuilds them from
  what is left; models already fitted keep their aggregate parameters;
- a spec's ``sources:`` that still hold old rows bring them back at the next import; trim the
  export, or let the next retention run remove them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from segmint.exceptions import WorkspaceError
from segmint.privacy.audit import record
from segmint.spec.retention import RetentionSpec

if TYPE_CHECKING:
    import duckdb

    from segmint.store import Store

__all__ = ["RetentionResult", "apply_retention", "retention_sql"]

#: key of ``retention:`` → (table, the WHERE clause of its old rows; ``?`` is the cutoff)
_RULES: dict[str, tuple[str, str]] = {
    "orders": ("orders", "ordered_at < ?"),
    "events": ("events", "occurred_at < ?"),
    "feedback": ("feedback", "answered_at < ?"),
    "campaign_contacts": ("campaign_contacts", "sent_at < ?"),
    "quality_samples": (
        "quality_issues",
        "run_id IN (SELECT run_id FROM runs WHERE finished_at < ?)",
    ),
    "export_members": (
        "export_members",
        "export_id IN (SELECT export_id FROM exports WHERE created_at < ?)",
    ),
    "audit_log": ("audit_log", "logged_at < ?"),
    "jobs": ("jobs", "status IN ('done', 'failed') AND finished_at < ?"),
}
#: the tables a rule's WHERE clause reads besides its own
_NEEDS = {"quality_samples": "runs", "export_members": "exports"}


@dataclass
class RetentionResult:
    """What a retention run removed (or, dry, would remove): rows and cutoff per key."""

    now: datetime
    cutoffs: dict[str, datetime]
    removed: dict[str, int]
    dry_run: bool = False
    #: keys whose table the workspace does not have (nothing to remove)
    absent: list[str] = field(default_factory=list)
    #: the workspace file's rewrite (bytes before / after, seconds), when rows went
    file: dict[str, float] = field(default_factory=dict)
    #: why the file was not rewritten (another connection had it open), if so
    rewrite_deferred: str | None = None

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "total": self.total,
            "tables": {
                k: {
                    "table": _RULES[k][0],
                    "older_than": self.cutoffs[k].isoformat(),
                    "removed": self.removed[k],
                }
                for k in self.cutoffs
            },
            "absent": list(self.absent),
            "file": dict(self.file),
            "rewrite_deferred": self.rewrite_deferred,
        }

    def summary(self) -> str:
        """One sentence: ``Removed 120 rows: orders 100, events 20.``"""
        verb = "Would remove" if self.dry_run else "Removed"
        parts = [f"{k} {n:,}" for k, n in self.removed.items() if n]
        n = self.total
        return f"{verb} {n:,} row{'s' if n != 1 else ''}" + (
            f": {', '.join(parts)}." if parts else " (nothing is older than the limits)."
        )


def retention_sql(key: str) -> tuple[str, str]:
    """(table, WHERE clause with one ``?`` for the cutoff) of a ``retention:`` key."""
    return _RULES[key]


def apply_retention(
    store: Store,
    policy: RetentionSpec,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    rewrite: bool = True,
) -> RetentionResult:
    """Delete the rows older than ``policy``'s limits, counted back from ``now`` (default:
    now, UTC); one transaction with its ``retention.apply`` audit row. ``dry_run`` counts them
    and changes nothing. When rows went, the workspace file is rewritten (``rewrite``;
    :meth:`Store.rewrite_file`) so that their bytes go too; when another connection holds
    the file (the server) the result says the rewrite was deferred (``segmint compact``)."""
    moment = _naive_utc(now)
    cutoffs = policy.cutoffs(moment)
    present = set(store.table_names())
    usable = {k for k in cutoffs if {_RULES[k][0], _NEEDS.get(k, _RULES[k][0])} <= present}
    absent = [k for k in cutoffs if k not in usable]
    if dry_run:
        removed = {k: _count(store.db, k, cutoffs[k]) if k in usable else 0 for k in cutoffs}
        return RetentionResult(moment, cutoffs, removed, True, absent)
    with store.transaction() as con:
        removed = {k: _delete(con, k, cutoffs[k]) if k in usable else 0 for k in cutoffs}
        result = RetentionResult(moment, cutoffs, removed, False, absent)
        record(con, "retention.apply", detail=_detail(result))
    if result.total and rewrite:  # deleted rows keep their bytes until the file is rewritten
        try:
            result.file = store.rewrite_file()
        except WorkspaceError as exc:
            result.rewrite_deferred = exc.problem
    return result


def _naive_utc(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def _count(con: duckdb.DuckDBPyConnection, key: str, cut: datetime) -> int:
    table, where = _RULES[key]
    row = con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', [cut]).fetchone()
    return int(row[0]) if row else 0


def _delete(con: duckdb.DuckDBPyConnection, key: str, cut: datetime) -> int:
    n = _count(con, key, cut)
    if n:
        table, where = _RULES[key]
        con.execute(f'DELETE FROM "{table}" WHERE {where}', [cut])
    return n


def _detail(result: RetentionResult) -> dict[str, Any]:
    return {
        "removed": result.removed,
        "cutoffs": {k: v.isoformat() for k, v in result.cutoffs.items()},
        "total": result.total,
    }
