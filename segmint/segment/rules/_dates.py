"""Dates in rules: the as-of date and calendar arithmetic with days, weeks, months and years.

Rules compare *calendar days*: a timestamp is compared by its (UTC) date, so
``last_order_at within 90 days`` means the same as ``recency_days <= 90`` in the feature
table. Months and years move the calendar (``2024-03-31`` minus one month is ``2024-02-29``).

>>> shift_back(date(2024, 3, 31), 1, "month")
datetime.date(2024, 2, 29)
>>> to_as_of("2024-12-31")
datetime.datetime(2024, 12, 31, 23, 59, 59)
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

__all__ = ["shift_back", "to_as_of"]


def shift_back(day: date, amount: int, unit: str) -> date:
    """``day`` minus ``amount`` units (``day``, ``week``, ``month`` or ``year``); a shift past
    the first day of year 1 stops there (``within 99999 years`` means "ever").

    >>> shift_back(date(2024, 5, 31), 3, "month"), shift_back(date(2024, 1, 1), 10**9, "week")
    (datetime.date(2024, 2, 29), datetime.date(1, 1, 1))
    """
    if unit in ("day", "week"):
        try:
            return day - timedelta(days=amount * (7 if unit == "week" else 1))
        except OverflowError:
            return date.min
    months = day.year * 12 + day.month - 1 - amount * (12 if unit == "year" else 1)
    year, month = divmod(months, 12)
    if year < 1:
        return date.min
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def to_as_of(value: object) -> datetime | None:
    """A naive UTC datetime from a datetime, a date (end of that day) or an ISO string.

    Returns ``None`` for anything else (the caller raises a helpful error).
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if len(value.strip()) <= 10:
            return datetime.combine(parsed.date(), time(23, 59, 59))
        return to_as_of(parsed)
    return None
