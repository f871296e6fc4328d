"""``segmint experiment power``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(group: typer.Typer) -> None:
    """Add the command to the ``experiment`` group."""
