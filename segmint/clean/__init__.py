"""Clean: standardize, validate, deduplicate, report data quality (M2)."""

from segmint.clean._pipeline import CleanResult, clean
from segmint.clean._pipeline import _apply_gates as apply_gates
from segmint.clean.quality import build_report, identical_lines_note, write_report

__all__ = [
    "CleanResult",
    "apply_gates",
    "build_report",
    "clean",
    "identical_lines_note",
    "write_report",
]
