"""The ``schedules`` and ``schedule_runs`` rows as typed records, and their reads and writes.

Kept apart from the scheduling logic (:mod:`segmint._run.schedule`) so that the server's
poller, the web page and the command line read the same records. Both tables are declared in
``segmint/store/tables.py``; each write here is one transaction: a run is recorded together
with its schedule's new ``last_run_at`` and ``next_run_at``, or not at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from segmint.privacy import audit
from segmint.store import Store

__all__ = [
    "Schedule",
    "ScheduleRun",
    "delete",
    "insert",
    "next_id",
    "read_runs",
    "read_schedules",
    "record",
]


@dataclass(frozen=True)
class Schedule:
    """One row of ``schedules``: times are UTC without a zone."""

    schedule_id: str
    cron: str
    spec_path: str | None
    spec_text: str
    out_dir: str | None
    created_at: datetime
    created_by: str
    enabled: bool
    last_run_at: datetime | None
    next_run_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return _iso(asdict(self))


@dataclass(frozen=True)
class ScheduleRun:
    """One scheduled re-run: the segment run it made and what the comparison found."""

    schedule_id: str
    started_at: datetime
    finished_at: datetime
    status: str  # ok | failed
    run_id: str | None = None
    baseline_run_id: str | None = None
    report_dir: str | None = None
    error: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    crossed: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _iso(asdict(self))


def _iso(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in d.items()}


def read_schedules(store: Store, schedule_id: str | None = None) -> list[Schedule]:
    """Every schedule (or the one ``schedule_id``), by id."""
    if not store.has_table("schedules"):
        return []
    where, params = ("WHERE schedule_id = ?", [schedule_id]) if schedule_id else ("", [])
    cur = store.db.cursor()
    rows = cur.execute(f"SELECT * FROM schedules {where} ORDER BY schedule_id", params).fetchall()
    names = [d[0] for d in cur.description or []]
    return [Schedule(**dict(zip(names, r, strict=True))) for r in rows]


def read_runs(store: Store, schedule_id: str | None = None, limit: int = 50) -> list[ScheduleRun]:
    """The latest scheduled re-runs (of one schedule, or of all), newest first."""
    if not store.has_table("schedule_runs"):
        return []
    where, params = ("WHERE schedule_id = ?", [schedule_id]) if schedule_id else ("", [])
    cur = store.db.cursor()
    rows = cur.execute(
        f"SELECT * FROM schedule_runs {where} ORDER BY started_at DESC, finished_at DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    names = [d[0] for d in cur.description or []]
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        for key in ("alerts", "notes"):
            rec[key] = json.loads(rec[key]) if rec[key] else []
        rec["crossed"] = bool(rec["crossed"])
        out.append(ScheduleRun(**rec))
    return out


def insert(store: Store, s: Schedule) -> None:
    """Add ``s`` (both tables are created with the first schedule)."""
    store.ensure("schedules")
    store.ensure("schedule_runs")
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO schedules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                s.schedule_id,
                s.cron,
                s.spec_path,
                s.spec_text,
                s.out_dir,
                s.created_at,
                s.created_by,
                s.enabled,
                s.last_run_at,
                s.next_run_at,
            ],
        )
        audit.record(
            tx,
            "schedule.add",
            target=s.schedule_id,
            detail={"cron": s.cron, "spec": "file" if s.spec_path else "text"},
        )


def next_id(store: Store) -> str:
    """``s0001``, ``s0002``, …: one more than any id in use."""
    if not store.has_table("schedules"):
        return "s0001"
    row = store.db.execute(
        "SELECT max(TRY_CAST(substr(schedule_id, 2) AS INTEGER)) FROM schedules"
    ).fetchone()
    return f"s{int(row[0] or 0) + 1 if row else 1:04d}"


def delete(store: Store, schedule_id: str) -> None:
    """The schedule and its runs' records (the segment runs it made stay), together."""
    with store.transaction() as tx:
        tx.execute("DELETE FROM schedule_runs WHERE schedule_id = ?", [schedule_id])
        tx.execute("DELETE FROM schedules WHERE schedule_id = ?", [schedule_id])
        audit.record(tx, "schedule.remove", target=schedule_id)


def record(store: Store, run: ScheduleRun, next_run_at: datetime) -> bool:
    """Store ``run`` and move its schedule on to ``next_run_at``, in one transaction; False
    (nothing written) when the schedule was removed while it ran."""
    with store.transaction() as tx:
        found = tx.execute(
            "SELECT count(*) FROM schedules WHERE schedule_id = ?", [run.schedule_id]
        ).fetchone()
        if not found or not found[0]:
            return False
        tx.execute(
            "UPDATE schedules SET last_run_at = ?, next_run_at = ? WHERE schedule_id = ?",
            [run.started_at, next_run_at, run.schedule_id],
        )
        tx.execute(
            "INSERT INTO schedule_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.schedule_id,
                run.started_at,
                run.finished_at,
                run.status,
                run.run_id,
                run.baseline_run_id,
                run.report_dir,
                run.error,
                json.dumps(run.alerts, ensure_ascii=False, default=str),
                run.crossed,
                json.dumps(run.notes, ensure_ascii=False),
            ],
        )
        audit.record(
            tx,
            "schedule.run",
            target=run.schedule_id,
            detail={"status": run.status, "run_id": run.run_id, "alerts": len(run.alerts)},
        )
    return True
