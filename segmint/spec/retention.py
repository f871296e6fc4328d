"""The spec's ``retention:`` section: how long each kind of row is kept, as data.

Storage limitation (GDPR art. 5(1)(e)) is a promise about time, so the spec says it in the
units people use: ``3y``, ``13m`` (months), ``26w``, ``30d``. A limit is turned into a cutoff
by counting back from a moment (now, UTC, unless told otherwise) in calendar units: ``13m``
from 2026-12-03 is 2025-11-03, ``1y`` from 2028-02-29 is 2027-02-28. Rows *older* than the
cutoff (strictly before it) go; :mod:`segmint.privacy.retention` deletes them.

```yaml
retention:
  orders: 3y              # order lines, by ordered_at
  events: 13m             # by occurred_at
  feedback: 2y            # by answered_at
  campaign_contacts: 2y   # by sent_at
  quality_samples: 30d    # quality_issues rows of runs that finished before the cutoff
  export_members: 1y      # who was in an audience file (the export log row stays)
  audit_log: 2y           # by logged_at
  jobs: 90d               # finished server jobs, by finished_at
```
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["RETENTION_TABLES", "RetentionSpec", "cutoff", "parse_duration"]

#: what each key of ``retention:`` covers (shown in ``segmint retention show`` and the docs)
RETENTION_TABLES = {
    "orders": "order lines older than the limit (by ordered_at)",
    "events": "events older than the limit (by occurred_at)",
    "feedback": "answers and reviews older than the limit (by answered_at)",
    "campaign_contacts": "campaign contacts older than the limit (by sent_at)",
    "quality_samples": "sampled bad values (quality_issues) of runs that finished before it",
    "export_members": "who was in audience files written before it (the export log stays)",
    "audit_log": "audit log rows older than the limit (by logged_at)",
    "jobs": "finished server jobs older than the limit (by finished_at)",
}

_DURATION = re.compile(r"\s*(\d{1,4})\s*([dwmy])\s*", re.IGNORECASE)
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


def parse_duration(text: object) -> tuple[int, str]:
    """``"13m"`` → ``(13, "months")``; a ValueError saying what is expected otherwise.

    >>> parse_duration("3y"), parse_duration("26w"), parse_duration(" 30D ")
    ((3, 'years'), (26, 'weeks'), (30, 'days'))
    """
    match = _DURATION.fullmatch(str(text)) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number > 0 and a unit: d (days), "
            "w (weeks), m (months) or y (years), e.g. 3y, 13m, 26w, 30d"
        )
    return int(match.group(1)), _UNITS[match.group(2).lower()]


def _months_back(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def cutoff(duration: str, now: datetime | None = None) -> datetime:
    """The moment ``duration`` before ``now`` (default: now, UTC), as naive UTC.

    >>> cutoff("13m", datetime(2026, 12, 3)), cutoff("1y", datetime(2028, 2, 29))
    (datetime.datetime(2025, 11, 3, 0, 0), datetime.datetime(2027, 2, 28, 0, 0))
    """
    moment = now or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    n, unit = parse_duration(duration)
    if unit == "days":
        return moment - timedelta(days=n)
    if unit == "weeks":
        return moment - timedelta(weeks=n)
    return _months_back(moment, n * 12 if unit == "years" else n)


class RetentionSpec(BaseModel):
    """How long rows are kept, per table (``None``: kept for ever). See the module docstring."""

    model_config = ConfigDict(extra="forbid")

    orders: str | None = None
    events: str | None = None
    feedback: str | None = None
    campaign_contacts: str | None = None
    quality_samples: str | None = None
    export_members: str | None = None
    audit_log: str | None = None
    jobs: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        if v is None:
            return v
        parse_duration(v)
        return str(v).strip().lower()

    def limits(self) -> dict[str, str]:
        """The limits set, by key, in the order of :data:`RETENTION_TABLES`."""
        return {k: v for k in RETENTION_TABLES if (v := getattr(self, k)) is not None}

    def cutoffs(self, now: datetime | None = None) -> dict[str, datetime]:
        """Each limit's cutoff counted back from ``now`` (default: now, UTC)."""
        moment = now or datetime.now(UTC)
        return {k: cutoff(v, moment) for k, v in self.limits().items()}
