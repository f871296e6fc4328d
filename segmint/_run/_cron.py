"""Cron expressions of scheduled re-runs, read by croniter (a maintained parser, not ours).

Five fields (minute hour day-of-month month day-of-week) or croniter's ``@daily``-style
aliases, always in UTC: the server and ``segmint schedule run-due`` may run on machines in
other time zones, and a schedule must mean the same hour on each. croniter's optional sixth
field (seconds) is refused: schedules are checked once a minute at most, so a seconds field
would promise what never happens.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterError, croniter

from segmint.exceptions import SpecError

__all__ = ["EXAMPLE", "check_cron", "next_after", "utc"]

#: shown in every error about a cron expression
EXAMPLE = '"0 6 * * 1" = Mondays at 06:00 UTC; "30 5 * * *" = every day at 05:30 UTC'


def utc(moment: datetime | None = None) -> datetime:
    """``moment`` (default: now) in UTC, without a zone (how the workspace stores times)."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0)


def check_cron(cron: str) -> str:
    """The expression with its spaces normalized; a SpecError naming it, croniter's reason and
    an example when it is not one segmint can run."""
    text = " ".join(str(cron).split())
    fields = text.split(" ")
    if not text.startswith("@") and len(fields) != 5:
        _bad(
            cron,
            f"it has {len(fields)} field{'s' if len(fields) != 1 else ''}; a schedule needs five "
            "(minute hour day-of-month month day-of-week)",
        )
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        _bad(cron, f"croniter says: {exc}")
    return text


def next_after(cron: str, moment: datetime) -> datetime:
    """The first time ``cron`` fires strictly after ``moment`` (both UTC, without a zone)."""
    found: datetime = croniter(cron, utc(moment)).get_next(datetime)
    return found.replace(tzinfo=None)


def _bad(cron: str, why: str) -> None:
    raise SpecError(
        f"'{cron}' is not a cron expression segmint can run: {why}.",
        fix=f"give five fields, minute hour day-of-month month day-of-week, in UTC: {EXAMPLE}.",
    )
