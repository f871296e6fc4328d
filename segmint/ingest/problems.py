"""Cells a reader found unusable before any typing: counted with the column's quality check.

Typing finds most bad values (``coerce``: a text in a date column). Some are only visible to the
reader: an Excel formula whose result was never saved arrives as an empty cell, and would be
imported as a silent NULL. The reader records such cells per source column; the pipeline adds
them to that column's check (its count, share, gate and listed rows), so they are counted and
gated like any other invalid value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ValueProblem", "add_reader_problems"]

SAMPLES = 200  # rows listed per column, like the pipeline's issue sample (all are counted)


@dataclass
class ValueProblem:
    """Unusable cells of one source column: how many, why, and the first rows."""

    check: str
    #: the reason in words, for the gate's message ("formulas without a saved result")
    reason: str
    #: how to fix the cells, for the gate's message
    fix: str = ""
    count: int = 0
    #: (1-based data row, value shown, reason for that cell)
    samples: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, row: int, value: str, reason: str) -> None:
        self.count += 1
        if len(self.samples) < SAMPLES:
            self.samples.append((row, value, reason))


def add_reader_problems(
    checks: list[dict[str, Any]],
    problems: dict[str, ValueProblem],
    names: dict[str, str],
    *,
    table: str,
    source: str,
    rows: int,
) -> list[dict[str, Any]]:
    """``checks`` with the readers' problems added to the checks of their columns.

    ``names`` maps source columns to the imported column names; a column that is not imported
    is left out. A column without a check of its own gets one with ``rows`` values checked.
    Each check touched says why in ``reason`` (its own reason, if any, comes first).
    """
    by_column = {c["column"]: c for c in checks}
    for col, prob in problems.items():
        name = names.get(col)
        if name is None or not prob.count:
            continue
        chk = by_column.get(name)
        if chk is None:
            chk = {
                "table": table,
                "column": name,
                "source_column": col,
                "check": prob.check,
                "n_bad": 0,
                "n_checked": rows - prob.count,
                "source": source,
                "reason": prob.reason,
            }
            checks.append(chk)
            by_column[name] = chk
        elif chk["n_bad"]:
            chk["reason"] = f"{chk.get('reason') or 'unreadable'}, or {prob.reason}"
        else:
            chk["reason"] = prob.reason
        chk["n_bad"] += prob.count
        chk["n_checked"] += prob.count  # the cells were empty to the reader, so not counted yet
        chk["share"] = chk["n_bad"] / chk["n_checked"] if chk["n_checked"] else 0.0
    return checks
