"""The parsed form of a rule: small frozen nodes that remember where they came from.

Every node that can be wrong carries a :class:`Span` (character offsets into the rule text),
so a checker or compiler can point at the offending token with a caret.

>>> from segmint.segment.rules._parse import parse_one
>>> parse_one("Big", "income > 50k")[0].expr.right.value
50000
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

__all__ = [
    "And",
    "Between",
    "Column",
    "Compare",
    "DateBound",
    "Expr",
    "InList",
    "IsNull",
    "Not",
    "Operand",
    "Or",
    "Relative",
    "Rule",
    "SegmentRef",
    "Span",
    "Truth",
    "Value",
    "ValueKind",
    "walk",
]

#: the kinds of literal values (and, for columns, of their types)
ValueKind: TypeAlias = Literal["number", "text", "date", "boolean"]


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` into the rule text."""

    start: int
    end: int


@dataclass(frozen=True)
class Column:
    """A feature column, by name."""

    name: str
    span: Span


@dataclass(frozen=True)
class Value:
    """A literal: number (``50k`` → 50000), text, date or boolean. ``value`` is ``None`` only
    when the literal was invalid (e.g. ``2024-02-30``) and a problem was already recorded."""

    value: int | float | str | bool | date | None
    kind: ValueKind
    text: str
    span: Span


Operand: TypeAlias = Column | Value


@dataclass(frozen=True)
class Compare:
    """``left op right`` with op one of ``= != < <= > >=``."""

    op: str
    left: Operand
    right: Operand
    span: Span  # the operator


@dataclass(frozen=True)
class Between:
    """``operand [not] between low and high`` (both bounds included)."""

    operand: Operand
    low: Value
    high: Value
    negated: bool


@dataclass(frozen=True)
class InList:
    """``operand [not] in (v1, v2, …)``."""

    operand: Operand
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """``operand is [not] null``."""

    operand: Operand
    negated: bool


@dataclass(frozen=True)
class Relative:
    """``column within N unit`` or ``column older than N unit``, relative to the as-of date."""

    column: Column
    kind: Literal["within", "older_than"]
    amount: Value
    unit: str
    unit_span: Span


@dataclass(frozen=True)
class DateBound:
    """``column before DATE`` or ``column after DATE`` (calendar days, bounds excluded)."""

    column: Column
    kind: Literal["before", "after"]
    date: Value


@dataclass(frozen=True)
class SegmentRef:
    """``segment("Name")``: the customers matched by an earlier rule."""

    name: str
    span: Span


@dataclass(frozen=True)
class Truth:
    """A bare boolean column or ``true``/``false`` used as a condition."""

    operand: Operand


@dataclass(frozen=True)
class Not:
    item: Expr


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr: TypeAlias = (
    Compare | Between | InList | IsNull | Relative | DateBound | SegmentRef | Truth | Not | And | Or
)


@dataclass(frozen=True)
class Rule:
    """One named rule: its name, its text and its parsed expression."""

    name: str
    text: str
    expr: Expr


def walk(expr: Expr) -> list[Expr]:
    """Every node of ``expr``, parents before children (left to right)."""
    out: list[Expr] = [expr]
    if isinstance(expr, Not):
        out += walk(expr.item)
    elif isinstance(expr, And | Or):
        for item in expr.items:
            out += walk(item)
    return out
