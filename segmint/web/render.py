"""Render the pages: one Jinja2 environment (autoescape on) over the web's templates and the
report's (its chart, card and plan macros and its styles are shared, so the pages look like
the report)."""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from segmint.api.services import safe_name
from segmint.web.session import WebUser

__all__ = ["NAV", "anchor", "env", "page"]

#: the main navigation: (path, label, role needed)
NAV = (
    ("/", "Dashboard", "viewer"),
    ("/upload", "Upload", "analyst"),
    ("/update", "Update segments", "analyst"),
    ("/quality", "Data quality", "viewer"),
    ("/persons", "Persons", "analyst"),
    ("/feedback", "Feedback", "analyst"),
    ("/runs/new", "New segmentation", "analyst"),
    ("/compare", "Compare", "viewer"),
    ("/monitor", "Monitoring", "viewer"),
    ("/schedules", "Schedules", "viewer"),
    ("/exports", "Exports", "viewer"),
    ("/experiments", "Experiments", "viewer"),
    ("/experiments/analyze", "Test results", "viewer"),
    ("/campaigns", "Campaigns", "viewer"),
    ("/consent", "Consent", "analyst"),
    ("/tokens", "Tokens", "admin"),
    ("/erase", "Erase", "admin"),
    ("/retention", "Retention & access", "admin"),
    ("/audit", "Audit log", "admin"),
    ("/docs", "API", "viewer"),
)


def anchor(label: object) -> str:
    """The page anchor of a segment card: ``seg-`` and a URL- and id-safe label."""
    return "seg-" + safe_name(str(label))


@functools.cache
def env() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("segmint.web", "templates"),
                jinja2.PackageLoader("segmint.report", "templates"),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["anchor"] = anchor
    return environment


def page(
    request: Request,
    template: str,
    user: WebUser | None,
    *,
    status: int = 200,
    title: str = "",
    **context: Any,
) -> HTMLResponse:
    """A rendered page; never cached (it shows workspace data to a signed-in user)."""
    nav = [
        {"href": href, "label": label, "current": request.url.path == href}
        for href, label, role in NAV
        if user is not None and user.can(role)
    ]
    html = (
        env()
        .get_template(template)
        .render(
            user=user,
            csrf=user.csrf if user else "",
            nav=nav,
            title=title,
            plotly_src=request.app.state.web_plotly_src,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
