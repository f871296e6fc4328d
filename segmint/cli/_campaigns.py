"""``segmint campaigns``: campaign results per campaign, segment and channel."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""
