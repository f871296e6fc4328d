"""Bounds on the size of a rule, checked on the tokens *before* anything recursive runs.

A rule is parsed into a tree and compiled to an Ibis expression, both by recursive code; a
rule such as ``"not " * 500 + "age > 1"`` or 7,000 ``or`` terms would exhaust Python's stack
there, and a 5,000-digit number exceeds Python's integer conversion limit. So
:func:`limit_problems` first lexes the rule (Lark's lexer is a loop, not a recursion) and
counts: the text's length, tokens, conditions joined by ``and``/``or``, nesting depth
(parentheses and ``not``) and the length of each literal. Each limit crossed is one
:class:`RuleProblem` pointing at the first token over it. :func:`expanded_problems` applies
the same depth and condition limits after ``segment("X")`` references are inlined.

The limits are far above any rule a person writes (they are listed in ``docs/rules.md`` and
``docs/security.md``):

>>> MAX_DEPTH, MAX_CONDITIONS, MAX_NUMBER_DIGITS
(50, 1000, 100)
>>> [p.message[:40] for p in limit_problems("R", "not " * 60 + "age > 1")]
['nested 51 levels deep (not and parenthes']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from lark import Token
from lark.exceptions import UnexpectedInput

from segmint.segment.rules._ast import And, Expr, Not, Or, Rule, SegmentRef, Span
from segmint.segment.rules._errors import RuleProblem
from segmint.segment.rules._grammar import PARSER

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_LITERAL_CHARS",
    "MAX_NUMBER_DIGITS",
    "MAX_RULE_CHARS",
    "MAX_TOKENS",
    "expanded_problems",
    "limit_problems",
]

#: characters in one rule's text (checked before lexing)
MAX_RULE_CHARS = 50_000
#: tokens (words, values, operators, parentheses) in one rule
MAX_TOKENS = 10_000
#: conditions joined by ``and``/``or`` in one rule, also with ``segment(…)`` inlined
MAX_CONDITIONS = 1_000
#: nesting of parentheses and ``not``, also through ``segment(…)`` references
MAX_DEPTH = 50
#: digits in one number (``1e100`` is far above any amount, count or age)
MAX_NUMBER_DIGITS = 100
#: characters in one quoted text or backtick column name
MAX_LITERAL_CHARS = 1_000

_PREFIX_BEFORE = {None, "_LPAR", "_AND", "_OR", "NOT"}
_SHORTEN = " Shorten the rule."
_FLATTEN = " Remove parentheses around single conditions and pairs of 'not not'."
_LIST = " Compare with a list, 'column in (a, b, …)', instead of many 'or's."


def _span(tok: Token) -> Span:
    return Span(int(tok.start_pos or 0), int(tok.end_pos or 0))


class _Scan:
    """One pass over the tokens; ``problems`` gets the first crossing of each limit."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        self.problems: list[RuleProblem] = []
        self.crossed: set[str] = set()
        self.levels = [0]  # prefix 'not's still open, one entry per open parenthesis
        self.tokens = self.conditions = 0
        self.previous: str | None = None

    def add(self, limit: str, tok: Token, message: str) -> None:
        if limit not in self.crossed:
            self.crossed.add(limit)
            self.problems.append(RuleProblem(self.name, self.text, _span(tok), message))

    def depth(self) -> int:
        return len(self.levels) - 1 + sum(self.levels)

    def token(self, tok: Token) -> None:
        self.tokens += 1
        kind = tok.type
        if self.tokens > MAX_TOKENS:
            self.add(
                "tokens",
                tok,
                f"the rule has more than {MAX_TOKENS:,} words and symbols." + _SHORTEN,
            )
        if kind == "_LPAR":
            self.levels.append(0)
        elif kind == "_RPAR" and len(self.levels) > 1:
            self.levels.pop()
            self.levels[-1] = 0
        elif kind in ("_AND", "_OR"):
            self.levels[-1] = 0
            self.conditions += 1
            if self.conditions >= MAX_CONDITIONS:
                self.add(
                    "conditions",
                    tok,
                    f"the rule combines more than {MAX_CONDITIONS:,} conditions with 'and'/'or'."
                    + _LIST,
                )
        elif kind == "NOT" and self.previous in _PREFIX_BEFORE:
            self.levels[-1] += 1
        if self.depth() > MAX_DEPTH:
            self.add(
                "depth",
                tok,
                f"nested {self.depth()} levels deep (not and parentheses); "
                f"at most {MAX_DEPTH} levels are allowed." + _FLATTEN,
            )
        self.literal(tok)
        self.previous = kind

    def literal(self, tok: Token) -> None:
        text = str(tok)
        if tok.type == "NUMBER":
            digits = sum(c.isdigit() for c in text)
            if digits > MAX_NUMBER_DIGITS:
                self.add(
                    f"number{tok.start_pos}",
                    tok,
                    f"a number with {digits:,} digits; at most {MAX_NUMBER_DIGITS} are allowed.",
                )
        elif tok.type in ("STRING", "QUOTED_NAME") and len(text) - 2 > MAX_LITERAL_CHARS:
            what = "text" if tok.type == "STRING" else "column name"
            self.add(
                f"literal{tok.start_pos}",
                tok,
                f"a {what} of {len(text) - 2:,} characters; at most {MAX_LITERAL_CHARS:,} "
                "are allowed.",
            )


def limit_problems(name: str, text: str) -> list[RuleProblem]:
    """Every size limit ``text`` crosses (empty when it is within all of them).

    A character the lexer cannot read ends the scan quietly: the parser reports it.
    """
    if len(text) > MAX_RULE_CHARS:
        return [
            RuleProblem(
                name,
                text[:200],
                Span(0, 1),
                f"the rule has {len(text):,} characters; at most {MAX_RULE_CHARS:,} are "
                "allowed." + _SHORTEN,
            )
        ]
    scan = _Scan(name, text)
    try:
        for tok in PARSER.lex(text):
            scan.token(tok)
    except UnexpectedInput:
        pass
    return scan.problems


def _size(expr: Expr, sizes: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    """(depth, conditions) of ``expr`` with every ``segment(…)`` inlined. The depth counts
    ``not``, parentheses and the log2 levels of a balanced ``and``/``or`` (as compiled)."""
    if isinstance(expr, SegmentRef):
        return sizes.get(expr.name, (1, 1))
    if isinstance(expr, Not):
        depth, conditions = _size(expr.item, sizes)
        return depth + 1, conditions
    if isinstance(expr, And | Or):
        parts = [_size(item, sizes) for item in expr.items]
        levels = math.ceil(math.log2(len(parts))) if len(parts) > 1 else 0
        return max(d for d, _ in parts) + levels, sum(c for _, c in parts)
    return 1, 1


def expanded_problems(rules: Sequence[Rule]) -> list[RuleProblem]:
    """Rules that cross :data:`MAX_DEPTH` or :data:`MAX_CONDITIONS` once the rules they
    reference with ``segment(…)`` are inlined (each reference repeats the whole rule)."""
    sizes: dict[str, tuple[int, int]] = {}
    problems: list[RuleProblem] = []
    for rule in rules:
        depth, conditions = sizes[rule.name] = _size(rule.expr, sizes)
        span = Span(0, len(rule.text.split("\n")[0]))
        if conditions > MAX_CONDITIONS:
            problems.append(
                RuleProblem(
                    rule.name,
                    rule.text,
                    span,
                    f"with its segment(…) references inlined the rule has {conditions:,} "
                    f"conditions; at most {MAX_CONDITIONS:,} are allowed. Reference a large "
                    "rule once, not several times.",
                )
            )
        if depth > MAX_DEPTH:
            problems.append(
                RuleProblem(
                    rule.name,
                    rule.text,
                    span,
                    f"with its segment(…) references inlined the rule is nested {depth} levels "
                    f"deep; at most {MAX_DEPTH} are allowed. Shorten the chain of rules that "
                    "refer to each other.",
                )
            )
    return problems
