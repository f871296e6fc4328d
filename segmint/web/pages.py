"""Server-rendered pages (Jinja2) mounted on the API's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Add the web app's routes and static files to ``app``."""
