"""``segmint experiment``: design a split test, size it, analyze its results.

The group lives here; its commands live next to it (``_experiment_design``: design; ``_experiment_power``: power;
``_experiment_analyze``: analyze), each registering itself on :data:`experiment_app`.
"""

from __future__ import annotations

import typer

from segmint.cli import _experiment_analyze, _experiment_design, _experiment_power

__all__ = ["experiment_app", "register"]

experiment_app = typer.Typer(
    help="Split tests per segment: design (assign variants), power (sample size), analyze.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``segmint experiment`` and its commands to the CLI."""
    _experiment_design.register(experiment_app)
    _experiment_power.register(experiment_app)
    _experiment_analyze.register(experiment_app)
    app.add_typer(experiment_app, name="experiment")
