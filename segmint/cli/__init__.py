"""The ``segmint`` command (Typer + Rich). User errors print one paragraph and exit 2."""

from segmint.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
