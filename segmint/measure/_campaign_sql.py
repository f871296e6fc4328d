"""The one aggregate query behind campaign results: counts and sums per campaign × segment.

The engine reads every contact once and returns sufficient statistics (counts of contacts,
opens, clicks, conversions and the sum and sum of squares of revenue) per campaign and
segment at send time, so a results table of 10M contacts never travels to Python; the rates,
intervals and ROI are computed from these few rows (:mod:`segmint.measure.campaigns`).

The segment at send time is the file's ``campaign_contacts.segment`` when it is filled;
otherwise, with a segmentation named, the customer's segment in the stored assignments of the
run that described the customers at send time: the latest run holding the segmentation whose
time is at or before ``sent_at`` (DuckDB's ``ASOF JOIN``). A run's time is the date its data
is as of (``runs.spec.as_of``), or when it finished if that is unknown; of several runs as of
the same date, the last one counts. A contact without
``sent_at`` is taken as sent when its campaign started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from segmint.exceptions import SegmintError
from segmint.privacy.pseudonyms import customer_key_sql
from segmint.store import CANONICAL, Store

__all__ = ["NO_CAMPAIGN", "NO_SEGMENT", "UNKNOWN_CHANNEL", "Aggregate", "aggregate", "no_contacts"]

#: the segment of a contact the file and the stored runs say nothing about
NO_SEGMENT = "(no segment)"
#: the campaign of a contact whose campaign_id is empty
NO_CAMPAIGN = "(no campaign)"
#: the channel of a contact whose campaign is not in ``campaigns`` (or has no channel)
UNKNOWN_CHANNEL = "(unknown channel)"

_OUTCOMES = ("opened", "clicked", "converted")
_CONTACT_COLUMNS = ("segment", "sent_at", "sent", *_OUTCOMES, "revenue")
_CAMPAIGN_COLUMNS = {
    "name": "VARCHAR",
    "channel": "VARCHAR",
    "cost": "DOUBLE",
    "started_at": "TIMESTAMP",
}


@dataclass(frozen=True)
class Aggregate:
    """One row of the query: the sufficient statistics of one campaign × segment."""

    campaign_id: str
    campaign_name: str | None
    channel: str
    segment: str
    #: rows in campaign_contacts
    contacts: int
    #: contacts not marked as unsent (``sent`` true or unknown)
    reached: int
    #: contacts marked ``sent = true``
    sent: int
    #: per outcome: reached contacts where it is known, and where it is true
    opened_known: int
    opens: int
    clicked_known: int
    clicks: int
    converted_known: int
    conversions: int
    revenue_known: int
    revenue: float
    revenue_sq: float
    #: the campaign's total cost and total reach (for the allocation); None: no cost known
    campaign_cost: float | None
    campaign_reached: int
    #: the campaign has a row in ``campaigns``
    listed: bool
    #: contacts without a segment that were sent before any run of the segmentation
    before_first_run: int = 0


def aggregate(
    store: Store,
    *,
    campaigns: Sequence[str] = (),
    segmentation: str | None = None,
    run_id: str | None = None,
) -> list[Aggregate]:
    """The statistics of every campaign × segment (of ``campaigns``, default all)."""
    _require_contacts(store)
    params: list[Any] = []
    where = ""
    if campaigns:
        _check_campaigns(store, campaigns)
        where = f"WHERE cc.campaign_id IN ({', '.join('?' for _ in campaigns)})"
        params += list(campaigns)
    lookup, lookup_params = _segment_lookup(store, segmentation, run_id)
    contacts = ", ".join(
        f'{_expr(store, "campaign_contacts", c, "cc")} AS "{c}"' for c in _CONTACT_COLUMNS
    )
    sql = f"""
    WITH camp AS ({_campaigns_sql(store)}),
    con AS (
        SELECT coalesce(cc.campaign_id, '{NO_CAMPAIGN}') AS campaign_id, cc.customer_id,
               {contacts},
               coalesce(sent_at, camp.started_at) AS at, coalesce(sent, true) AS reached
        FROM campaign_contacts cc LEFT JOIN camp USING (campaign_id) {where}
    ),
    seg AS ({lookup}),
    g AS (
        SELECT campaign_id, coalesce(segment, '{NO_SEGMENT}') AS segment,
            count(*) AS contacts,
            count(*) FILTER (WHERE reached) AS reached,
            count(*) FILTER (WHERE sent) AS sent,
            {", ".join(_outcome(o) for o in _OUTCOMES)},
            count(revenue) FILTER (WHERE reached) AS revenue_known,
            coalesce(sum(revenue) FILTER (WHERE reached), 0) AS revenue,
            coalesce(sum(revenue * revenue) FILTER (WHERE reached), 0) AS revenue_sq,
            sum(count(*) FILTER (WHERE reached)) OVER (PARTITION BY campaign_id)
                AS campaign_reached,
            count(*) FILTER (WHERE segment IS NULL AND _run IS NULL) AS before_first_run
        FROM seg GROUP BY 1, 2
    )
    SELECT g.campaign_id, camp.name, coalesce(camp.channel, '{UNKNOWN_CHANNEL}'), g.segment,
        g.contacts, g.reached, g.sent, g.opened_known, g.opens, g.clicked_known, g.clicks,
        g.converted_known, g.conversions, g.revenue_known, g.revenue, g.revenue_sq,
        camp.cost, g.campaign_reached, camp.campaign_id IS NOT NULL, g.before_first_run
    FROM g LEFT JOIN camp USING (campaign_id)
    ORDER BY g.campaign_id, g.segment
    """
    rows = store.db.execute(sql, [*params, *lookup_params]).fetchall()
    return [_from_row(r) for r in rows]


def _from_row(r: tuple[Any, ...]) -> Aggregate:
    """A result row, in the SELECT's order (the order of :class:`Aggregate`'s fields)."""
    names = [f.name for f in fields(Aggregate)]
    counts = {n: int(v) for n, v in zip(names[4:14], r[4:14], strict=True)}
    return Aggregate(
        campaign_id=str(r[0]),
        campaign_name=r[1],
        channel=str(r[2]),
        segment=str(r[3]),
        **counts,
        revenue=float(r[14]),
        revenue_sq=float(r[15]),
        campaign_cost=None if r[16] is None else float(r[16]),
        campaign_reached=int(r[17]),
        listed=bool(r[18]),
        before_first_run=int(r[19]),
    )


def _outcome(name: str) -> str:
    plural = {"opened": "opens", "clicked": "clicks", "converted": "conversions"}[name]
    return (
        f"count({name}) FILTER (WHERE reached) AS {name}_known, "
        f"count(*) FILTER (WHERE reached AND {name}) AS {plural}"
    )


def _expr(store: Store, table: str, name: str, alias: str) -> str:
    """``alias.name``, or a NULL of the declared type when the table lacks the column; a
    segment given as blank text counts as none."""
    if name not in store.columns(table):
        return f"CAST(NULL AS {CANONICAL[table].column(name).dtype})"
    if name == "segment":
        return f"nullif(trim({alias}.\"{name}\"), '')"
    return f'{alias}."{name}"'


def _campaigns_sql(store: Store) -> str:
    """One row per campaign id (a file imported twice must not double a cost)."""
    if not store.has_table("campaigns"):
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in _CAMPAIGN_COLUMNS.items())
        return f"SELECT CAST(NULL AS VARCHAR) AS campaign_id, {cols} WHERE false"
    pick = ", ".join(f"max({_expr(store, 'campaigns', c, 'c')}) AS {c}" for c in _CAMPAIGN_COLUMNS)
    return f"SELECT c.campaign_id, {pick} FROM campaigns c GROUP BY c.campaign_id"


def _segment_lookup(
    store: Store, segmentation: str | None, run_id: str | None
) -> tuple[str, list[Any]]:
    """SQL adding ``segment`` (the file's, else the stored run's) to every contact."""
    if segmentation is None:
        if run_id is not None:
            raise SegmintError(
                f"A run ('{run_id}') was given without a segmentation.",
                fix="name the segmentation too, e.g. --segmentation rfm --run 0004-segment.",
            )
        return "SELECT *, CAST(NULL AS VARCHAR) AS _run FROM con", []
    _check_segmentation(store, segmentation, run_id)
    if run_id is not None:
        runs = "SELECT CAST(? AS VARCHAR) AS run_id, CAST(NULL AS TIMESTAMP) AS t"
        join = "LEFT JOIN runs_s ON true"
        params: list[Any] = [run_id]
    else:
        # several runs as of the same date (a run repeated on the same data): the last one
        runs = (
            "SELECT arg_max(run_id, seq) AS run_id, t FROM (SELECT s.run_id, r.seq, "
            "coalesce(TRY_CAST(json_extract_string(r.spec, '$.as_of') AS TIMESTAMP), "
            "r.finished_at, r.started_at) AS t "
            "FROM segmentations s JOIN runs r USING (run_id) WHERE s.name = ?) GROUP BY t"
        )
        join = "ASOF LEFT JOIN runs_s ON con.at >= runs_s.t"
        params = [segmentation]
    sql = f"""
        WITH runs_s AS ({runs})
        SELECT con.* REPLACE (coalesce(con.segment, a.segment_name, a.segment) AS segment),
               runs_s.run_id AS _run
        FROM con {join}
        LEFT JOIN segment_assignments a
          ON a.run_id = runs_s.run_id AND a.segmentation = ?
          AND a.customer_id = {customer_key_sql(store, "con.customer_id")}
    """
    return sql, [*params, segmentation]


def _require_contacts(store: Store) -> None:
    if not store.has_table("campaign_contacts"):
        raise no_contacts(store.path)


def no_contacts(workspace: object) -> SegmintError:
    """The error for a workspace without ``campaign_contacts``: how to import them."""
    return SegmintError(
        f"The workspace '{workspace}' has no campaign contacts, so there are no campaign "
        "results to show.",
        fix="import the campaign's results (one row per contacted customer: campaign_id, "
        "customer_id and sent/opened/clicked/converted/revenue) with `segmint ingest "
        "contacts.csv --as campaign_contacts`, and the campaigns (campaign_id, channel, "
        "cost) with `segmint ingest campaigns.csv --as campaigns`.",
    )


def _check_campaigns(store: Store, wanted: Sequence[str]) -> None:
    have = {
        str(r[0])
        for r in store.db.execute(
            "SELECT DISTINCT campaign_id FROM campaign_contacts WHERE campaign_id IS NOT NULL"
        ).fetchall()
    }
    unknown = [c for c in wanted if c not in have]
    if unknown:
        shown = ", ".join(sorted(have)[:20]) + (" …" if len(have) > 20 else "")
        raise SegmintError(
            f"No contacts of campaign {', '.join(map(repr, unknown))} were imported.",
            fix=f"name a campaign id found in campaign_contacts: {shown or 'none yet'}.",
        )


def _check_segmentation(store: Store, segmentation: str, run_id: str | None) -> None:
    if not store.has_table("segment_assignments"):
        raise SegmintError(
            "There are no segment runs in this workspace, so the segment at send time cannot "
            "be looked up.",
            fix="run `segmint run` first, or fill the `segment` column of the contacts file and "
            "leave out --segmentation.",
        )
    if run_id is None:
        sql, params = "SELECT count(*) FROM segmentations WHERE name = ?", [segmentation]
    else:
        sql = "SELECT count(*) FROM segmentations WHERE name = ? AND run_id = ?"
        params = [segmentation, run_id]
    row = store.db.execute(sql, params).fetchone()
    if row and row[0]:
        return
    names = sorted(
        str(r[0]) for r in store.db.execute("SELECT DISTINCT name FROM segmentations").fetchall()
    )
    where = f"Run '{run_id}' has" if run_id else "No run has"
    raise SegmintError(
        f"{where} no segmentation named '{segmentation}'.",
        fix=f"use one of: {', '.join(names) or 'none'} (`segmint status` lists the runs).",
    )
