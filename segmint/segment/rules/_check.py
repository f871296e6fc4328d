"""Check parsed rules: column names, column types, relative-date units, segment references.

Every rule is parsed and checked; all problems of all rules are raised together as one
:class:`~segmint.exceptions.SpecError` whose ``problems`` has one caret message per problem.

>>> import ibis
>>> schema = ibis.schema({"age": "int64", "income": "float64"})
>>> [r.name for r in parse_rules([("Young", "age < 35"), ("Rich", "income > 1m")], schema)]
['Young', 'Rich']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from segmint.segment.rules._ast import (
    Between,
    Column,
    Compare,
    DateBound,
    Expr,
    InList,
    IsNull,
    Operand,
    Relative,
    Rule,
    SegmentRef,
    Span,
    Truth,
    Value,
    ValueKind,
    walk,
)
from segmint.segment.rules._errors import RuleProblem, raise_problems
from segmint.segment.rules._grammar import UNITS
from segmint.segment.rules._limits import expanded_problems
from segmint.segment.rules._parse import parse_one

__all__ = ["column_kind", "columns_used", "parse_rules"]

_WANT = {
    "number": "a number",
    "text": "a quoted text",
    "date": "a date (YYYY-MM-DD)",
    "boolean": "true or false",
}
_COLUMN = {"number": "number", "text": "text", "date": "date", "boolean": "true/false"}


def column_kind(dtype: Any) -> ValueKind | None:
    """The kind of an Ibis data type (``None``: a type rules do not compare, e.g. arrays)."""
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "text"
    if dtype.is_date() or dtype.is_timestamp():
        return "date"
    return None


def columns_used(rule: Rule) -> list[str]:
    """Names of the columns a rule reads, in order of first use."""
    names: list[str] = []
    for node in walk(rule.expr):
        for operand in _operands(node):
            if isinstance(operand, Column) and operand.name not in names:
                names.append(operand.name)
    return names


def _operands(node: Expr) -> list[Operand]:
    if isinstance(node, Compare):
        return [node.left, node.right]
    if isinstance(node, Between | InList | IsNull | Truth):
        return [node.operand]
    if isinstance(node, Relative | DateBound):
        return [node.column]
    return []


def _found(v: Value) -> str:
    return {"number": "the number ", "text": "the text ", "date": "the date "}.get(v.kind, "") + (
        v.text
    )


def _hint(kind: ValueKind, v: Value) -> str:
    if kind == "text" and v.kind in ("number", "date", "boolean"):
        return f" Put it in quotes: '{v.text}'."
    if kind in ("number", "date") and v.kind == "text":
        return (
            f" Write {kind}s without quotes, e.g. {'50000' if kind == 'number' else '2024-01-31'}."
        )
    return ""


class _Checker:
    def __init__(self, rule: Rule, columns: Mapping[str, Any] | None, names: Sequence[str]):
        self.rule = rule
        self.columns = columns
        self.names = list(names)
        self.problems: list[RuleProblem] = []

    def add(self, span: Span, message: str) -> None:
        self.problems.append(RuleProblem(self.rule.name, self.rule.text, span, message))

    def kind(self, operand: Operand) -> ValueKind | None:
        if isinstance(operand, Value):
            return operand.kind
        if self.columns is None or operand.name not in self.columns:
            return None
        return column_kind(self.columns[operand.name])

    def describe(self, operand: Operand) -> str:
        if isinstance(operand, Value):
            return _found(operand)
        kind = self.kind(operand)
        return f"the {_COLUMN[kind]} column '{operand.name}'" if kind else f"'{operand.name}'"

    def column(self, col: Column) -> None:
        if self.columns is None or col.name in self.columns:
            return
        known = [str(c) for c in self.columns]
        close = difflib.get_close_matches(col.name, known, n=3, cutoff=0.6)
        close += [c for c in known if c.lower() == col.name.lower() and c not in close]
        if close:
            tail = "Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        else:
            shown = ", ".join(known[:12]) + (
                f", … ({len(known)} in all)" if len(known) > 12 else ""
            )
            tail = f"Known columns: {shown}."
        self.add(col.span, f"unknown column '{col.name}'. {tail}")

    def value_for(self, kind: ValueKind | None, col: Operand, v: Value) -> None:
        if kind is None or v.kind == kind:
            return
        self.add(
            v.span,
            f"expected {_WANT[kind]} for {self.describe(col)}, found {_found(v)}.{_hint(kind, v)}",
        )

    def needs_column(self, operand: Operand, word: str) -> bool:
        if isinstance(operand, Column):
            return True
        self.add(operand.span, f"expected a column before '{word}', found {_found(operand)}.")
        return False

    def check(self) -> list[RuleProblem]:
        for node in walk(self.rule.expr):
            for operand in _operands(node):
                if isinstance(operand, Column):
                    self.column(operand)
            method = getattr(self, "_" + type(node).__name__.lower(), None)
            if method is not None:
                method(node)
        return self.problems

    def _compare(self, n: Compare) -> None:
        lk, rk = self.kind(n.left), self.kind(n.right)
        if isinstance(n.left, Value) and isinstance(n.right, Value):
            self.add(n.span, f"expected a column on one side of '{n.op}', found two values.")
        elif isinstance(n.right, Value) and isinstance(n.left, Column):
            self.value_for(lk, n.left, n.right)
        elif isinstance(n.left, Value) and isinstance(n.right, Column):
            self.value_for(rk, n.right, n.left)
        elif lk and rk and lk != rk:
            self.add(
                n.span,
                f"expected two columns of the same kind around '{n.op}', found "
                f"{self.describe(n.left)} and {self.describe(n.right)}.",
            )
        if "boolean" in (lk, rk) and n.op not in ("=", "!="):
            self.add(n.span, f"expected = or != with true/false values, found '{n.op}'.")

    def _between(self, n: Between) -> None:
        if not self.needs_column(n.operand, "between"):
            return
        kind = self.kind(n.operand)
        self.value_for(kind, n.operand, n.low)
        self.value_for(kind or n.low.kind, n.operand, n.high)
        lo, hi = n.low.value, n.high.value
        if n.low.kind == n.high.kind and lo is not None and hi is not None and lo > hi:  # type: ignore[operator]
            self.add(
                Span(n.low.span.start, n.high.span.end),
                f"expected the lower bound first, found {n.low.text} above {n.high.text}, so "
                f"nothing would match; write 'between {n.high.text} and {n.low.text}'.",
            )

    def _inlist(self, n: InList) -> None:
        if not self.needs_column(n.operand, "in"):
            return
        kind = self.kind(n.operand) or n.values[0].kind
        for v in n.values:
            self.value_for(kind, n.operand, v)

    def _isnull(self, n: IsNull) -> None:
        self.needs_column(n.operand, "is")

    def _dated(self, col: Column, word: str) -> None:
        kind = self.kind(col)
        if kind is not None and kind != "date":
            self.add(
                col.span,
                f"expected a date or timestamp column before '{word}', found {self.describe(col)}.",
            )

    def _relative(self, n: Relative) -> None:
        self._dated(n.column, "within" if n.kind == "within" else "older than")
        if n.unit not in UNITS:
            self.add(
                n.unit_span,
                f"expected a unit (days, weeks, months or years) after '{n.amount.text}', "
                f"found '{n.unit}'.",
            )
        amount = n.amount.value
        if not isinstance(amount, int) or amount < 0:
            self.add(
                n.amount.span,
                f"expected a whole number ≥ 0 before '{n.unit}', found {n.amount.text}.",
            )

    def _datebound(self, n: DateBound) -> None:
        self._dated(n.column, n.kind)

    def _truth(self, n: Truth) -> None:
        kind = self.kind(n.operand)
        if kind is None or kind == "boolean":
            return
        example = (
            f" Compare it, e.g. '{n.operand.name} > 0'." if isinstance(n.operand, Column) else ""
        )
        self.add(
            n.operand.span,
            f"expected a condition, found {self.describe(n.operand)} on its own.{example}",
        )

    def _segmentref(self, n: SegmentRef) -> None:
        earlier = self.names[: self.names.index(self.rule.name)]
        if n.name in earlier:
            return
        if n.name == self.rule.name:
            msg = f"a rule cannot use its own segment ('{n.name}'); refer to a rule above it."
        elif n.name in self.names:
            msg = (
                f"segment '{n.name}' is defined after this rule; a rule can only use the rules "
                f"above it, so move '{n.name}' up."
            )
        else:
            close = difflib.get_close_matches(n.name, self.names, n=3, cutoff=0.6)
            above = ", ".join(f"'{s}'" for s in earlier) or "none"
            tail = (
                "Close matches: " + ", ".join(f"'{c}'" for c in close) + "."
                if close
                else f"Rules above this one: {above}."
            )
            msg = f"unknown segment '{n.name}'. {tail}"
        self.add(n.span, msg)


def parse_rules(
    pairs: Sequence[tuple[str, str]], columns: Mapping[str, Any] | None = None
) -> list[Rule]:
    """Parse and check ``(name, text)`` pairs in order; raise every problem at once.

    ``columns`` maps column names to Ibis data types (an Ibis ``Schema`` works); without it
    only the syntax and the segment references are checked.
    """
    names = [name for name, _ in pairs]
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    for name, text in pairs:
        rule, found = parse_one(name, text)
        if rule is not None:
            found += _Checker(rule, columns, names).check()
            rules.append(rule)
        problems += sorted(found, key=lambda p: (p.span.start, p.span.end))
    if not problems:
        problems = expanded_problems(rules)
    raise_problems(problems)
    return rules
