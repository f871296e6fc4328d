"""The Campaigns page: campaign results per campaign × segment × channel, and a chart.

The numbers are those of ``GET /api/v1/campaigns`` (:mod:`segmint.api.services_campaigns`);
the table, the sentences and the chart of conversion rates with their intervals are the
report's "Campaign results" section (:func:`segmint.report.campaigns_view`), so the page and
the report never disagree. A workspace without campaign contacts gets the steps to import
them instead of an error page.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from segmint.api import services_campaigns
from segmint.api.state import state_of
from segmint.report import campaigns_view
from segmint.web.render import page
from segmint.web.session import WebUser, page_user

__all__ = ["router"]

router = APIRouter()

Dimension = Literal["campaign", "segment", "channel"]


@router.get("/campaigns")
def campaigns(
    request: Request,
    user: Annotated[WebUser, Depends(page_user("viewer"))],
    s: Annotated[str | None, Query(max_length=200)] = None,
    by: Annotated[list[Dimension] | None, Query()] = None,
) -> Response:
    ws = state_of(request).workspace()
    dims = by or ["campaign", "segment", "channel"]
    view = None
    if services_campaigns.has_contacts(ws):
        data = services_campaigns.campaign_results(ws, segmentation=s or None, by=dims)
        view = campaigns_view(data)
    return page(
        request,
        "campaigns.html.j2",
        user,
        title="Campaigns",
        c=view,
        segmentations=services_campaigns.segmentation_names(ws),
        chosen=s or "",
        by=dims,
        charts=bool(view and view["chart"]),
    )
