"""The Experiments page: the split tests designed so far, and a form to design one.

Everyone signed in sees the list (names, settings, counts per segment × variant); analysts
also get the form, which posts here and calls the same function as ``POST /api/v1/experiments``
(:func:`segmint.api.services_experiments.design`). A refusal (a used name, an unknown
segment, weights that do not fit) shows the page again with the paragraph and the values
typed, not an error page. Audience files per variant are written from the command line or
Python (``--export``), where there is a folder to write them to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_experiments as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.measure.design import parse_weights
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()

#: the form's fields and their values on a fresh page
DEFAULTS = {
    "name": "",
    "segmentation": "",
    "segments": "",
    "variants": "A, B, control",
    "weights": "",
    "salt": "",
    "replace": "",
}


def _split(text: str) -> list[str] | None:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return parts or None


def _page(
    request: Request,
    user: WebUser,
    *,
    values: dict[str, str] | None = None,
    designed: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    ws = state_of(request).workspace()
    return page(
        request,
        "experiments.html.j2",
        user,
        status=status,
        title="Experiments",
        experiments=[_view(d) for d in service.list_experiments(ws)],
        segmentations=service.segmentation_names(ws),
        values={**DEFAULTS, **(values or {})},
        designed=_view(designed) if designed else None,
        error=error,
    )


def _view(d: dict[str, Any]) -> dict[str, Any]:
    """A design as the page shows it: shares in per cent, a row per segment."""
    rows = [
        {"name": name, "counts": [d["counts"][label][v] for v in d["variants"]]}
        for label, name in zip(d["segments"], d["segment_names"], strict=True)
    ]
    totals = [sum(r["counts"][i] for r in rows) for i in range(len(d["variants"]))]
    return {
        **d,
        "when": d["created_at"].replace("T", " "),
        "shares": [f"{w:.1%}".replace(".0%", "%") for w in d["weights"]],
        "rows": rows,
        "totals": totals,
    }


@router.get("/experiments")
def experiments(
    request: Request, user: Annotated[WebUser, Depends(page_user("viewer"))]
) -> Response:
    return _page(request, user)


@router.post("/experiments")
async def design(
    request: Request, user: Annotated[WebUser, Depends(form_user("analyst"))]
) -> Response:
    form = await request.form()
    # a field the form did not send keeps its default; one sent empty stays empty
    values = {k: str(form.get(k, default)) for k, default in DEFAULTS.items()}
    state = state_of(request)
    try:
        done = await run_in_threadpool(
            lambda: service.design(
                state,
                state.workspace(),
                name=values["name"],
                segmentation=values["segmentation"],
                segments=_split(values["segments"]),
                variants=_split(values["variants"]) or [],
                weights=parse_weights(values["weights"], label="Weights"),
                salt=values["salt"] or None,
                run=None,
                control=None,
                replace=bool(values["replace"]),
                user=user.principal.name,
            )
        )
    except SegmintError as exc:
        return _page(request, user, values=values, error=state.redact(str(exc)), status=400)
    return _page(request, user, designed=done)
