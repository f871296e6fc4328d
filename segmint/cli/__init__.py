"""The ``segmint`` command (Typer + Rich). User errors print one paragraph and exit 2."""

import warnings

from segmint.cli.app import app
from segmint.exceptions import SegmintWarning


def main() -> None:
    # the commands print each result's warnings themselves
    warnings.simplefilter("ignore", SegmintWarning)
    app()


__all__ = ["app", "main"]
