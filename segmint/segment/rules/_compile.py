"""Checked rules → Ibis boolean expressions, so the engine (DuckDB, Spark…) evaluates them.

Each predicate is *two-valued*: a comparison on a missing value is false (``COALESCE(…,
FALSE)``), so ``not`` turns it into true and ``segment("A") and not segment("B")`` keeps the
customers of A for whom B's condition is unknown. ``segment("X")`` inlines rule X's expression.

>>> import ibis
>>> from segmint.segment.rules._check import parse_rules
>>> t = ibis.table({"children": "int64"}, name="features")
>>> expr = compile_rules(parse_rules([("Families", "children > 0")], t.schema()), t)["Families"]
>>> print(ibis.to_sql(t.select(families=expr), dialect="duckdb"))
SELECT
  COALESCE("t0"."children" > 0, FALSE) AS "families"
FROM "features" AS "t0"
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.exceptions import SpecError
from segmint.segment.rules._ast import (
    And,
    Between,
    Compare,
    DateBound,
    Expr,
    InList,
    IsNull,
    Not,
    Operand,
    Or,
    Relative,
    Rule,
    SegmentRef,
    Truth,
    Value,
)
from segmint.segment.rules._check import column_kind
from segmint.segment.rules._dates import shift_back
from segmint.segment.rules._grammar import UNITS

__all__ = ["compile_rules", "first_match"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Compiler:
    def __init__(
        self, table: ir.Table, as_of: datetime | None, done: Mapping[str, ir.BooleanValue]
    ) -> None:
        self.table = table
        self.as_of = as_of
        self.done = done
        self.schema = table.schema()

    def is_date(self, operand: Operand) -> bool:
        if isinstance(operand, Value):
            return operand.kind == "date"
        return column_kind(self.schema[operand.name]) == "date"

    def operand(self, operand: Operand, as_date: bool = False) -> Any:
        if isinstance(operand, Value):
            return ibis.literal(operand.value, type="date" if operand.kind == "date" else None)
        col = self.table[operand.name]
        if as_date and self.schema[operand.name].is_timestamp():
            return col.date()
        return col

    def expr(self, node: Expr) -> ir.BooleanValue:
        if isinstance(node, Not):
            return ~self.expr(node.item)
        if isinstance(node, And | Or):
            combine = operator.and_ if isinstance(node, And) else operator.or_
            return _balanced(combine, [self.expr(i) for i in node.items])
        if isinstance(node, SegmentRef):
            return self.done[node.name]
        result: ir.BooleanValue = self.predicate(node)
        if isinstance(node, IsNull) or (
            isinstance(node, Truth) and isinstance(node.operand, Value)
        ):
            return result  # never null
        return result.fill_null(False)

    def predicate(self, node: Expr) -> Any:
        if isinstance(node, Compare):
            as_date = self.is_date(node.left) or self.is_date(node.right)
            left, right = self.operand(node.left, as_date), self.operand(node.right, as_date)
            return _OPS[node.op](left, right)
        if isinstance(node, Between):
            col = self.operand(node.operand, node.low.kind == "date")
            inside = col.between(node.low.value, node.high.value)
            return ~inside if node.negated else inside
        if isinstance(node, InList):
            col = self.operand(node.operand, node.values[0].kind == "date")
            values = [v.value for v in node.values]
            return col.notin(values) if node.negated else col.isin(values)
        if isinstance(node, IsNull):
            col = self.operand(node.operand)
            return col.notnull() if node.negated else col.isnull()
        if isinstance(node, Truth):
            return self.operand(node.operand)
        if isinstance(node, DateBound):
            day = self.operand(node.column, as_date=True)
            return day < node.date.value if node.kind == "before" else day > node.date.value
        if isinstance(node, Relative):
            return self.relative(node)
        raise TypeError(f"unknown rule node {node!r}")  # pragma: no cover

    def relative(self, node: Relative) -> Any:
        if self.as_of is None:
            raise SpecError(
                "Relative dates ('within', 'older than') need an as-of date, and none was given.",
                fix="pass as_of=datetime(…) to RulesSegmenter, or fit it on data with a date "
                "column so the latest date is used.",
            )
        today = self.as_of.date()
        amount = node.amount.value
        assert isinstance(amount, int)
        cutoff = shift_back(today, amount, UNITS[node.unit])
        day = self.operand(node.column, as_date=True)
        if node.kind == "within":
            return day.between(cutoff, today)
        return day < cutoff


def _balanced(combine: Callable[[Any, Any], Any], items: list[Any]) -> Any:
    """``a op b op c op d`` as ``(a op b) op (c op d)``: log2(n) levels deep instead of n, so
    a rule with a thousand conditions does not exhaust the stack of the SQL compiler."""
    while len(items) > 1:
        pairs = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        items = pairs + ([items[-1]] if len(items) % 2 else [])
    return items[0]


def compile_rules(
    rules: Sequence[Rule], table: ir.Table, as_of: datetime | None = None
) -> dict[str, ir.BooleanValue]:
    """One Ibis boolean per rule (in order); ``segment("X")`` uses the earlier rule X.

    The rules must have been checked against ``table``'s schema (:func:`parse_rules`).
    """
    done: dict[str, ir.BooleanValue] = {}
    for rule in rules:
        done[rule.name] = _Compiler(table, as_of, done).expr(rule.expr)
    return done


def first_match(matches: Mapping[str, ir.BooleanValue], other: str) -> ir.StringValue:
    """First-match label: the name of the first rule that matches, else ``other``."""
    branches = [(match, ibis.literal(name)) for name, match in matches.items()]
    label: ir.StringValue = ibis.cases(*branches, else_=ibis.literal(other))
    return label
