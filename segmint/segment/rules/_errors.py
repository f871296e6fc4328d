"""Rule problems: a message plus the span it is about, rendered with a caret under the token.

>>> p = RuleProblem("Young Professionals", "age between and 35", Span(12, 15),
...                 "expected a value after 'between', found 'and'.")
>>> print(p.render())
Rule 'Young Professionals', column 13: expected a value after 'between', found 'and'.
  age between and 35
              ^^^
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from segmint.exceptions import SpecError
from segmint.segment.rules._ast import Span

__all__ = ["RuleProblem", "describe_expected", "join_or", "raise_problems"]

_VALUES = {"NUMBER", "STRING", "DATE", "TRUE", "FALSE"}
_CONDITION_START = {"NOT", "SEGMENT", "_LPAR"}
_OPERATORS = "=, !=, <, <=, >, >=, between, in, is null, within, older than, before or after"
_WORDS = {
    "NOT": "'not'",
    "BETWEEN": "'between'",
    "IN": "'in'",
    "IS": "'is'",
    "NULL": "'null'",
    "THAN": "'than'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_COMMA": "','",
    "_AND": "'and'",
    "_OR": "'or'",
    "$END": "the end of the rule",
}
_ORDER = list(_WORDS)
_LINE = 120  # characters of a long rule shown around the caret


@dataclass(frozen=True)
class RuleProblem:
    """One problem in one rule: ``message`` is about the characters ``span`` of ``text``."""

    rule: str
    text: str
    span: Span
    message: str

    def render(self) -> str:
        """``Rule 'name', column c: message`` then the rule's line with carets under the span."""
        start = min(max(self.span.start, 0), len(self.text))
        line_no = self.text.count("\n", 0, start)
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", start)
        line_end = len(self.text) if line_end < 0 else line_end
        line = self.text[line_start:line_end].replace("\t", " ")
        col = start - line_start
        width = max(1, min(self.span.end, line_end) - start)
        where = (
            f"line {line_no + 1}, column {col + 1}" if "\n" in self.text else f"column {col + 1}"
        )
        shown, col, width = _window(line, col, width)
        return f"Rule '{_short(self.rule)}', {where}: {self.message}\n  {shown}\n  {' ' * col}{'^' * width}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _window(line: str, col: int, width: int) -> tuple[str, int, int]:
    """At most :data:`_LINE` characters of ``line`` around the caret (``…`` where cut), and
    the caret's column and width in that excerpt."""
    if len(line) <= _LINE:
        return line, col, width
    start = max(0, min(col - _LINE // 3, len(line) - _LINE))
    excerpt = line[start : start + _LINE]
    lead = "…" if start > 0 else ""
    tail = "…" if start + _LINE < len(line) else ""
    col = col - start + len(lead)
    return lead + excerpt + tail, col, max(1, min(width, _LINE - (col - len(lead))))


def join_or(items: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def describe_expected(expected: Iterable[str], after_number: bool = False) -> str:
    """Plain words for a set of terminal names the parser would have accepted."""
    exp = set(expected)
    parts: list[str] = []
    if "NAME" in exp and exp & _CONDITION_START:
        parts.append("a condition")
        exp -= {"NAME", "QUOTED_NAME", *_VALUES, *_CONDITION_START}
    elif exp == {"NAME"} and after_number:
        return "a unit (days, weeks, months or years)"
    elif "NAME" in exp and exp & _VALUES:
        parts.append("a column or a value")
        exp -= {"NAME", "QUOTED_NAME", *_VALUES}
    elif exp & _VALUES:
        found = exp & _VALUES
        kinds = {
            "NUMBER": "a number",
            "DATE": "a date (YYYY-MM-DD)",
            "STRING": "a segment name in quotes",
        }
        only = next(iter(found)) if len(found) == 1 else None
        parts.append(kinds.get(only, "a value") if only else "a value")
        exp -= _VALUES
    elif "NAME" in exp:
        parts.append("a column name")
        exp -= {"NAME", "QUOTED_NAME"}
    if "COMP_OP" in exp:
        return join_or([*parts, f"an operator ({_OPERATORS})"])
    parts += [_WORDS[t] for t in _ORDER if t in exp]
    return join_or(parts) or "something else"


def raise_problems(problems: Sequence[RuleProblem]) -> None:
    """Raise one :class:`SpecError` listing every problem (nothing when there is none)."""
    if not problems:
        return
    rendered = [p.render() for p in problems]
    rules = sorted({p.rule for p in problems})
    head = (
        rendered[0]
        if len(rendered) == 1
        else f"{len(rendered)} problems in {len(rules)} rule(s):\n" + "\n".join(rendered)
    )
    raise SpecError(
        head,
        problems=rendered,
        fix="correct the rule text at the caret; docs/rules.md lists what the language accepts.",
    )
