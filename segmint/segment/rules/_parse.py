"""Rule text → :class:`Rule` (a tree of :mod:`._ast` nodes), or problems pointing at a token.

Parsing is done by Lark's LALR parser; nothing is ever evaluated. Syntax errors become one
plain sentence ("expected a value after 'between', found 'and'.") with a caret under the
offending token; literal errors (``2024-02-30``) are collected too.

>>> rule, problems = parse_one("Families", "children > 0")
>>> rule.expr.op, rule.expr.left.name, rule.expr.right.value, problems
('>', 'children', 0, [])
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from lark import Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from segmint.segment.rules._ast import (
    And,
    Between,
    Column,
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
    Span,
    Truth,
    Value,
)
from segmint.segment.rules._errors import RuleProblem, describe_expected
from segmint.segment.rules._grammar import PARSER
from segmint.segment.rules._limits import limit_problems

__all__ = ["parse_number", "parse_one"]

_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SUFFIX = {"k": 1_000, "m": 1_000_000}
_INT64 = 2**63 - 1


def _span(tok: Token) -> Span:
    return Span(int(tok.start_pos or 0), int(tok.end_pos or 0))


def parse_number(text: str) -> int | float:
    """``50k`` → 50000, ``1.5m`` → 1500000, ``1_000`` → 1000, ``2.5`` → 2.5; a whole number
    beyond 64-bit integers becomes a float (``1e30``) so the engine can compare it."""
    body = text.replace("_", "")
    factor = _SUFFIX.get(body[-1].lower(), 1)
    if factor != 1:
        body = body[:-1]
    number = float(body) * factor if "." in body else int(body) * factor
    if isinstance(number, int) and abs(number) > _INT64:
        return float(number)  # beyond a database integer: compared as a (huge) float
    if isinstance(number, float) and number.is_integer() and factor != 1:
        return int(number)
    return number


class _ToAst(Transformer[Token, Any]):
    """Lark tree → AST nodes; invalid literals are recorded in ``problems``."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__()
        self.name = name
        self.text = text
        self.problems: list[RuleProblem] = []

    # ---- leaves
    def column(self, items: list[Token]) -> Column:
        tok = items[0]
        name = str(tok)[1:-1] if tok.type == "QUOTED_NAME" else str(tok)
        return Column(name, _span(tok))

    def value(self, items: list[Token]) -> Value:
        tok = items[0]
        text, span = str(tok), _span(tok)
        if tok.type == "NUMBER":
            return Value(parse_number(text), "number", text, span)
        if tok.type == "STRING":
            return Value(re.sub(r"\\(.)", r"\1", text[1:-1]), "text", text, span)
        if tok.type == "DATE":
            try:
                return Value(date.fromisoformat(text), "date", text, span)
            except ValueError:
                self.problems.append(
                    RuleProblem(
                        self.name,
                        self.text,
                        span,
                        f"'{text}' is not a calendar date (expected YYYY-MM-DD, e.g. 2024-01-31).",
                    )
                )
                return Value(None, "date", text, span)
        return Value(text.lower() == "true", "boolean", text, span)

    def values(self, items: list[Value]) -> tuple[Value, ...]:
        return tuple(items)

    # ---- predicates
    def compare(self, items: list[Any]) -> Compare:
        left, op, right = items
        return Compare(_OPS[str(op)], left, right, _span(op))

    def between(self, items: list[Any]) -> Between:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        operand, low, high = (i for i in items if not isinstance(i, Token))
        return Between(operand, low, high, negated)

    def in_list(self, items: list[Any]) -> InList:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        return InList(items[0], items[-1], negated)

    def is_null(self, items: list[Any]) -> IsNull:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        return IsNull(items[0], negated)

    def _relative(self, column: Column, amount: Token, unit: Token, kind: str) -> Relative:
        value = Value(parse_number(str(amount)), "number", str(amount), _span(amount))
        return Relative(column, kind, value, str(unit).lower(), _span(unit))  # type: ignore[arg-type]

    def within(self, items: list[Any]) -> Relative:
        return self._relative(items[0], items[2], items[3], "within")

    def older_than(self, items: list[Any]) -> Relative:
        return self._relative(items[0], items[3], items[4], "older_than")

    def before(self, items: list[Any]) -> DateBound:
        return DateBound(items[0], "before", self.value([items[2]]))

    def after(self, items: list[Any]) -> DateBound:
        return DateBound(items[0], "after", self.value([items[2]]))

    def segment_ref(self, items: list[Token]) -> SegmentRef:
        tok = items[1]
        return SegmentRef(re.sub(r"\\(.)", r"\1", str(tok)[1:-1]), _span(tok))

    def truth(self, items: list[Operand]) -> Truth:
        return Truth(items[0])

    # ---- logic
    def negation(self, items: list[Any]) -> Not:
        return Not(items[1])

    def and_expr(self, items: list[Expr]) -> And:
        return And(tuple(items))

    def or_expr(self, items: list[Expr]) -> Or:
        return Or(tuple(items))


def _previous(text: str, pos: int) -> Token | None:
    tokens = list(PARSER.lex(text[:pos]))
    return tokens[-1] if tokens else None


def _syntax_problem(name: str, text: str, err: UnexpectedInput) -> RuleProblem:
    if isinstance(err, UnexpectedCharacters):
        pos = int(err.pos_in_stream or 0)
        char = text[pos]
        if char in "'\"":
            return RuleProblem(
                name,
                text,
                Span(pos, len(text)),
                f"this text is never closed; add the closing {char}.",
            )
        hint = {
            "&": " Write 'and' to combine conditions.",
            "|": " Write 'or' to combine conditions.",
            "!": " Write 'not' to negate a condition, '!=' for 'not equal'.",
        }.get(
            char,
            " Column names are letters, digits and underscores; put any other name in "
            "backticks (`Total Spend`).",
        )
        return RuleProblem(name, text, Span(pos, pos + 1), f"unexpected character '{char}'.{hint}")
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    if tok.type == "$END":
        start = len(text.rstrip())
        span, found = Span(start, start + 1), "the end of the rule"
    else:
        span, found = _span(tok), f"'{tok}'"
    try:
        expected = set(err.interactive_parser.accepts())
    except Exception:  # pragma: no cover - older Lark without an interactive parser
        expected = set(err.expected)
    prev = _previous(text, span.start)
    after = f" after '{prev}'" if prev is not None else " at the start"
    what = describe_expected(expected, after_number=prev is not None and prev.type == "NUMBER")
    message = f"expected {what}{after}, found {found}."
    if tok.type == "NULL" and prev is not None and prev.type == "COMP_OP":
        message += " To test for a missing value write 'is null' or 'is not null'."
    return RuleProblem(name, text, span, message)


def parse_one(name: str, text: str) -> tuple[Rule | None, list[RuleProblem]]:
    """Parse one rule; return the rule (``None`` on a syntax error or a rule over the size
    limits of :mod:`._limits`, checked first) and its problems."""
    over = limit_problems(name, text)
    if over:
        return None, over
    try:
        tree: Tree[Token] = PARSER.parse(text)
    except UnexpectedInput as err:
        return None, [_syntax_problem(name, text, err)]
    builder = _ToAst(name, text)
    try:
        expr = builder.transform(tree)
    except VisitError as err:  # pragma: no cover - a bug in the transformer, not user input
        raise err.orig_exc from err
    return Rule(name, text, expr), builder.problems
