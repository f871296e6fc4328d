"""Campaign results per campaign × segment × channel: reach, rates with intervals, revenue, ROI.

The engine returns counts and sums per campaign and segment (:mod:`._campaign_sql`); every
figure here is computed from them, so a coarser view (``by=("segment",)``) adds the counts of
the finer rows instead of reading the contacts again. Rates carry a Wilson score interval
(statsmodels' ``proportion_confint(method="wilson")``), which stays inside [0, 1] and keeps
its coverage for the small counts and rates near 0 that campaign segments produce, where the
normal (Wald) interval does not (Brown, Cai & DasGupta 2001).

A campaign's cost is known only in total, so it is allocated to segments by their share of
the campaign's reached contacts. A figure that cannot be computed (no cost known, a cost of
0, no conversions, nothing sent) is ``None`` with the reason next to it, never ``inf``.

>>> from segmint.store import Store
>>> res = campaign_results(Store("shop.duckdb"), segmentation="rfm")   # doctest: +SKIP
>>> res.rows[0].conversion_rate.value, res.best_channels[0].sentence  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from segmint.exceptions import SegmintError
from segmint.measure._campaign_sql import (
    NO_CAMPAIGN,
    NO_SEGMENT,
    UNKNOWN_CHANNEL,
    Aggregate,
    aggregate,
    no_contacts,
)
from segmint.measure._channels import ChannelChoice, best_channels, percent, wilson
from segmint.measure._figures import Figure, Rate
from segmint.store import Store

__all__ = [
    "DIMENSIONS",
    "NO_CAMPAIGN",
    "NO_SEGMENT",
    "UNKNOWN_CHANNEL",
    "CampaignResults",
    "CampaignRow",
    "ChannelChoice",
    "Counts",
    "Figure",
    "Rate",
    "campaign_results",
    "no_contacts",
    "percent",
]

Dimension = Literal["campaign", "segment", "channel"]
DIMENSIONS: tuple[Dimension, ...] = ("campaign", "segment", "channel")


@dataclass(frozen=True)
class Counts:
    """Sufficient statistics of one group of contacts (they add across groups). ``*_known``:
    reached contacts where the outcome was recorded (the rates' denominators); ``revenue_sq``:
    Σ revenue², so that a variance of revenue per contact needs no second pass."""

    contacts: int = 0
    reached: int = 0
    sent: int = 0
    opened_known: int = 0
    opens: int = 0
    clicked_known: int = 0
    clicks: int = 0
    converted_known: int = 0
    conversions: int = 0
    revenue_known: int = 0
    revenue: float = 0.0
    revenue_sq: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


@dataclass(frozen=True)
class CampaignRow:
    """The results of one campaign × segment × channel (a dimension not grouped by: None)."""

    campaign_id: str | None
    campaign_name: str | None
    segment: str | None
    channel: str | None
    counts: Counts
    open_rate: Rate
    click_rate: Rate
    conversion_rate: Rate
    revenue: Figure
    revenue_per_contact: Figure
    cost: Figure
    roi: Figure
    cost_per_conversion: Figure

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


@dataclass(frozen=True)
class CampaignResults:
    """Every row, the best channel per segment, and notes on contacts that could not be placed."""

    by: tuple[Dimension, ...]
    confidence: float
    segmentation: str | None
    run_id: str | None
    rows: tuple[CampaignRow, ...]
    #: the rows per segment × channel, whatever ``by`` is: the best-channel comparison reads
    #: them and the charts draw them
    segment_channel: tuple[CampaignRow, ...]
    best_channels: tuple[ChannelChoice, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists, not tuples), every number at full precision."""
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def campaign_results(
    store: Store,
    *,
    campaigns: Sequence[str] = (),
    segmentation: str | None = None,
    run_id: str | None = None,
    by: Sequence[str] = DIMENSIONS,
    confidence: float = 0.95,
) -> CampaignResults:
    """The results of ``campaigns`` (default: all) per the dimensions in ``by``.

    ``segmentation`` (and optionally ``run_id``) names where a contact's segment comes from
    when the file left ``campaign_contacts.segment`` empty: the run active at send time, or
    the named run."""
    dims = _dimensions(by)
    if not 0 < confidence < 1:
        raise SegmintError(
            f"The confidence level must be between 0 and 1. Got {confidence}.",
            fix="use e.g. 0.95 for 95 % intervals.",
        )
    found = aggregate(store, campaigns=campaigns, segmentation=segmentation, run_id=run_id)
    alpha = 1 - confidence
    pairs = [(a, _allocated_cost(a)) for a in found]
    rows = tuple(_row(dims, group, alpha) for group in _grouped(pairs, dims).values())
    by_pair = _grouped(pairs, ("segment", "channel"))
    channel_rows = tuple(_row(("segment", "channel"), g, alpha) for g in by_pair.values())
    return CampaignResults(
        by=dims,
        confidence=confidence,
        segmentation=segmentation,
        run_id=run_id,
        rows=rows,
        segment_channel=channel_rows,
        best_channels=best_channels(channel_rows, alpha),
        notes=tuple(_notes(found, segmentation, run_id)),
    )


Allocated = tuple[float | None, str | None]


def _allocated_cost(a: Aggregate) -> Allocated:
    """This segment's share of its campaign's cost: cost × reached / campaign's reached."""
    if a.campaign_cost is None:
        why = "is not in the campaigns table" if not a.listed else "has no cost"
        return None, f"campaign {a.campaign_id} {why}"
    if a.campaign_reached == 0:
        return None, f"campaign {a.campaign_id} reached nobody, so its cost cannot be allocated"
    return a.campaign_cost * a.reached / a.campaign_reached, None


def _grouped(
    pairs: Iterable[tuple[Aggregate, Allocated]], dims: Sequence[str]
) -> dict[tuple[str, ...], list[tuple[Aggregate, Allocated]]]:
    groups: dict[tuple[str, ...], list[tuple[Aggregate, Allocated]]] = {}
    for a, cost in pairs:
        key = tuple(_key(a, d) for d in dims)
        groups.setdefault(key, []).append((a, cost))
    return dict(sorted(groups.items()))


def _key(a: Aggregate, dim: str) -> str:
    return {"campaign": a.campaign_id, "segment": a.segment, "channel": a.channel}[dim]


def _row(
    dims: Sequence[str], group: list[tuple[Aggregate, Allocated]], alpha: float
) -> CampaignRow:
    first = group[0][0]
    c = sum((_counts(a) for a, _ in group), Counts())
    unsent = "nothing was sent to these contacts (all are marked sent = false)"
    revenue = (
        Figure(None, unsent)
        if c.reached == 0
        else Figure(c.revenue)
        if c.revenue_known
        else Figure(None, "no revenue was recorded")
    )
    cost = _summed_cost([cost for _, cost in group])

    def rate(successes: int, trials: int, what: str) -> Rate:
        found = wilson(successes, trials, alpha, what)
        return dataclasses.replace(found, reason=unsent) if c.reached == 0 else found

    return CampaignRow(
        campaign_id=first.campaign_id if "campaign" in dims else None,
        campaign_name=first.campaign_name if "campaign" in dims else None,
        segment=first.segment if "segment" in dims else None,
        channel=first.channel if "channel" in dims else None,
        counts=c,
        open_rate=rate(c.opens, c.opened_known, "opens"),
        click_rate=rate(c.clicks, c.clicked_known, "clicks"),
        conversion_rate=rate(c.conversions, c.converted_known, "conversions"),
        revenue=revenue,
        revenue_per_contact=_ratio(revenue, c.reached, unsent),
        cost=cost,
        roi=_roi(revenue, cost),
        cost_per_conversion=_per_conversion(cost, c.conversions),
    )


def _counts(a: Aggregate) -> Counts:
    return Counts(*(getattr(a, f.name) for f in dataclasses.fields(Counts)))


def _summed_cost(parts: list[Allocated]) -> Figure:
    reasons = sorted({why for _, why in parts if why})
    if reasons:
        return Figure(None, "; ".join(reasons))
    return Figure(sum(v for v, _ in parts if v is not None))


def _ratio(num: Figure, den: float, zero: str) -> Figure:
    if num.value is None:
        return num
    if den == 0:
        return Figure(None, zero)
    return Figure(num.value / den)


def _roi(revenue: Figure, cost: Figure) -> Figure:
    """(revenue − cost) / cost."""
    if cost.value is None:
        return Figure(None, f"no cost: {cost.reason}")
    if revenue.value is None:
        return Figure(None, revenue.reason)
    if cost.value == 0:
        return Figure(None, "the cost is 0, so the return on it is not defined")
    return Figure((revenue.value - cost.value) / cost.value)


def _per_conversion(cost: Figure, conversions: int) -> Figure:
    if cost.value is None:
        return Figure(None, f"no cost: {cost.reason}")
    if conversions == 0:
        return Figure(None, "no conversions")
    return Figure(cost.value / conversions)


def _dimensions(by: Sequence[str]) -> tuple[Dimension, ...]:
    wanted = [by] if isinstance(by, str) else list(by)
    unknown = [d for d in wanted if d not in DIMENSIONS]
    if unknown or not wanted:
        raise SegmintError(
            f"Campaign results can be grouped by campaign, segment and channel. Got "
            f"{', '.join(map(repr, unknown)) or 'nothing'}.",
            fix="use --by segment, --by channel, --by campaign, or several of them.",
        )
    return tuple(d for d in DIMENSIONS if d in wanted)


def _notes(found: list[Aggregate], segmentation: str | None, run_id: str | None) -> list[str]:
    notes = []
    unplaced = sum(a.contacts for a in found if a.segment == NO_SEGMENT)
    early = sum(a.before_first_run for a in found if a.segment == NO_SEGMENT)
    if unplaced and not segmentation:
        notes.append(
            f"{_contacts(unplaced)} shown as {NO_SEGMENT}: the file has no segment for them; "
            "name a segmentation (--segmentation) to take it from the run that was active at "
            "send time."
        )
        early = unplaced
    elif early:
        notes.append(
            f"{_contacts(early)} shown as {NO_SEGMENT} because they were sent before the first "
            f"run of '{segmentation}' (a run counts from the date its data is as of) or have "
            "no send time; name a later run with --run to place them by its segments."
        )
    if unplaced > early:
        run = f"run {run_id}" if run_id else "the run active at send time"
        notes.append(
            f"{_contacts(unplaced - early)} shown as {NO_SEGMENT} because {run} did not "
            "assign them a segment (customers it did not know)."
        )
    unlisted = sorted({a.campaign_id for a in found if not a.listed})
    if unlisted:
        one = len(unlisted) == 1
        notes.append(
            f"{'Campaign' if one else 'Campaigns'} {', '.join(unlisted)} "
            f"{'is' if one else 'are'} not in the campaigns table, so channel and cost are "
            "unknown (import them with `segmint ingest campaigns.csv --as campaigns`)."
        )
    return notes


def _contacts(n: int) -> str:
    return f"{n:,} contact is" if n == 1 else f"{n:,} contacts are"
