"""The rule language (M4): parser, error messages, compilation to Ibis, RulesSegmenter.

Compiled rules are checked against pandas masks written independently here (with the date
cut-offs spelled out as calendar facts), on a small hand-made frame, on generated personas
and on the real CDNOW and UCI wholesale data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.datasets import make_retail
from segmint.exceptions import ModelError, NotFittedError, SpecError
from segmint.segment.base import UNASSIGNED, Segmentation
from segmint.segment.rules import RulesSegmenter, compile_rules, first_match, parse_rules
from segmint.segment.rules._ast import (
    And,
    Between,
    Column,
    Compare,
    DateBound,
    InList,
    IsNull,
    Not,
    Or,
    Relative,
    SegmentRef,
    Truth,
    Value,
)
from segmint.segment.rules._parse import parse_one
from tests.conftest import assert_sql_snapshot, shared_file

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rules"
AS_OF = datetime(2024, 12, 31, 23, 59, 59)

SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "age": "int64",
        "income": "float64",
        "spend": "float64",
        "children": "int64",
        "country": "string",
        "vip": "boolean",
        "email": "string",
        "signup_at": "date",
        "last_order_at": "timestamp",
    }
)


def show(node: object) -> str:
    """The AST as a compact s-expression (a test-side printer, independent of the parser)."""
    if isinstance(node, Column):
        return node.name
    if isinstance(node, Value):
        return repr(node.value)
    if isinstance(node, Compare):
        return f"({node.op} {show(node.left)} {show(node.right)})"
    if isinstance(node, Between):
        return f"({'not-' * node.negated}between {show(node.operand)} {show(node.low)} {show(node.high)})"
    if isinstance(node, InList):
        values = " ".join(show(v) for v in node.values)
        return f"({'not-' * node.negated}in {show(node.operand)} [{values}])"
    if isinstance(node, IsNull):
        return f"({'is-not-null' if node.negated else 'is-null'} {show(node.operand)})"
    if isinstance(node, Relative):
        return f"({node.kind} {show(node.column)} {show(node.amount)} {node.unit})"
    if isinstance(node, DateBound):
        return f"({node.kind} {show(node.column)} {show(node.date)})"
    if isinstance(node, SegmentRef):
        return f"(segment {node.name!r})"
    if isinstance(node, Truth):
        return f"(truth {show(node.operand)})"
    if isinstance(node, Not):
        return f"(not {show(node.item)})"
    if isinstance(node, And | Or):
        word = "and" if isinstance(node, And) else "or"
        return f"({word} " + " ".join(show(i) for i in node.items) + ")"
    raise AssertionError(node)


def parse(text: str) -> str:
    rule, problems = parse_one("R", text)
    assert rule is not None and not problems, problems
    return show(rule.expr)


# ------------------------------------------------------------------------------------ parser
@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("age = 30", "(= age 30)"),
        ("age == 30", "(= age 30)"),
        ("age != 30", "(!= age 30)"),
        ("age <> 30", "(!= age 30)"),
        ("age < 30", "(< age 30)"),
        ("age <= 30", "(<= age 30)"),
        ("age > 30", "(> age 30)"),
        ("age >= 30", "(>= age 30)"),
        ("30 < age", "(< 30 age)"),
        ("income > spend", "(> income spend)"),
        ("age between 22 and 35", "(between age 22 35)"),
        ("age not between 22 and 35", "(not-between age 22 35)"),
        ("country in ('DE', \"FR\")", "(in country ['DE' 'FR'])"),
        ("country not in ('DE',)", "(not-in country ['DE'])"),
        ("email is null", "(is-null email)"),
        ("email is not null", "(is-not-null email)"),
        ("vip", "(truth vip)"),
        ("vip = true", "(= vip True)"),
        ("vip = FALSE", "(= vip False)"),
        ("true", "(truth True)"),
        ("income > 50k", "(> income 50000)"),
        ("income > 1.5m", "(> income 1500000)"),
        ("income > 2.5K", "(> income 2500)"),
        ("income > 1_000_000", "(> income 1000000)"),
        ("income > 2.75", "(> income 2.75)"),
        ("income > -3", "(> income -3)"),
        ("country = 'O\\'Brien'", '(= country "O\'Brien")'),
        ('country = "say \\"hi\\""', "(= country 'say \"hi\"')"),
        ("signup_at >= 2024-01-31", "(>= signup_at datetime.date(2024, 1, 31))"),
        ("last_order_at within 90 days", "(within last_order_at 90 days)"),
        ("last_order_at within 1 Week", "(within last_order_at 1 week)"),
        ("last_order_at within 3months", "(within last_order_at 3 months)"),
        ("signup_at older than 1 year", "(older_than signup_at 1 year)"),
        ("signup_at OLDER THAN 2 years", "(older_than signup_at 2 years)"),
        ("last_order_at before 2024-01-01", "(before last_order_at datetime.date(2024, 1, 1))"),
        ("signup_at after 2023-06-30", "(after signup_at datetime.date(2023, 6, 30))"),
        ('segment("Young Professionals")', "(segment 'Young Professionals')"),
        ("segment('Families')", "(segment 'Families')"),
        ("`Total Spend` > 10", "(> Total Spend 10)"),
        ("AGE BETWEEN 1 AND 2", "(between AGE 1 2)"),
        ("android and order_count > 1", "(and (truth android) (> order_count 1))"),
        (
            "in_store and is_vip or notes",
            "(or (and (truth in_store) (truth is_vip)) (truth notes))",
        ),
        ("between_x = nullable", "(= between_x nullable)"),
        ("a or b and c", "(or (truth a) (and (truth b) (truth c)))"),
        ("a and b or c", "(or (and (truth a) (truth b)) (truth c))"),
        ("not a and b", "(and (not (truth a)) (truth b))"),
        ("not (a or b)", "(not (or (truth a) (truth b)))"),
        ("not not a", "(not (not (truth a)))"),
        ("(a)", "(truth a)"),
        ("age between 1 and 2 and b", "(and (between age 1 2) (truth b))"),
        ("a and\n  b", "(and (truth a) (truth b))"),
    ],
)
def test_parser_builds_the_tree(text: str, tree: str) -> None:
    assert parse(text) == tree


def test_parsed_rules_keep_name_text_and_token_spans() -> None:
    rule = parse_rules([("Young Professionals", "age between 22 and 35")])[0]
    assert (rule.name, rule.text) == ("Young Professionals", "age between 22 and 35")
    assert isinstance(rule.expr, Between)
    assert rule.text[rule.expr.low.span.start : rule.expr.low.span.end] == "22"
    assert rule.text[rule.expr.operand.span.start : rule.expr.operand.span.end] == "age"


def test_parser_never_evaluates_python() -> None:
    with pytest.raises(SpecError, match="after '__import__', found '\\('"):
        parse_rules([("R", "__import__('os').system('echo hacked')")])


# ------------------------------------------------------------------------------ error messages
def error_of(text: str, schema: object = SCHEMA, name: str = "R") -> str:
    with pytest.raises(SpecError) as info:
        parse_rules([(name, text)], schema)  # type: ignore[arg-type]
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def block(head: str, line: str, caret: str) -> str:
    return f"{head}\n  {line}\n  {caret}"


SYNTAX_ERRORS = [
    (
        "age between and 35",
        "column 13: expected a value after 'between', found 'and'.",
        "            ^^^",
    ),
    (
        "age >",
        "column 6: expected a column or a value after '>', found the end of the rule.",
        "     ^",
    ),
    ("", "column 1: expected a condition at the start, found the end of the rule.", "^"),
    (
        ") and age > 1",
        "column 1: expected a condition at the start, found ')'.",
        "^",
    ),
    (
        "age > 30 35",
        "column 10: expected 'and', 'or' or the end of the rule after '30', found '35'.",
        "         ^^",
    ),
    (
        "(age > 30",
        "column 10: expected ')' after '30', found the end of the rule.",
        "         ^",
    ),
    (
        "age 35",
        "column 5: expected an operator (=, !=, <, <=, >, >=, between, in, is null, within, "
        "older than, before or after) after 'age', found '35'.",
        "    ^^",
    ),
    ("age is nul", "column 8: expected 'not' or 'null' after 'is', found 'nul'.", "       ^^^"),
    ("age not 5", "column 9: expected 'between' or 'in' after 'not', found '5'.", "        ^"),
    (
        "signup_at older 1 year",
        "column 17: expected 'than' after 'older', found '1'.",
        "                ^",
    ),
    (
        "age = null",
        "column 7: expected a column or a value after '=', found 'null'. To test for a "
        "missing value write 'is null' or 'is not null'.",
        "      ^^^^",
    ),
    ("country in ()", "column 13: expected a value after '(', found ')'.", "            ^"),
    (
        "country in ('DE' 'FR')",
        "column 18: expected ')' or ',' after ''DE'', found ''FR''.",
        "                 ^^^^",
    ),
    ("segment()", "column 9: expected a segment name in quotes after '(', found ')'.", "        ^"),
    (
        "segment(Families)",
        "column 9: expected a segment name in quotes after '(', found 'Families'.",
        "        ^^^^^^^^",
    ),
    (
        "signup_at within 90",
        "column 20: expected a unit (days, weeks, months or years) after '90', found the end "
        "of the rule.",
        "                   ^",
    ),
    (
        "last_order_at before 2024",
        "column 22: expected a date (YYYY-MM-DD) after 'before', found '2024'.",
        "                     ^^^^",
    ),
    (
        "age between 22 or 35",
        "column 16: expected 'and' after '22', found 'or'.",
        "               ^^",
    ),
    (
        "age > 3 & vip",
        "column 9: unexpected character '&'. Write 'and' to combine conditions.",
        "        ^",
    ),
    (
        "age > 3 || vip",
        "column 9: unexpected character '|'. Write 'or' to combine conditions.",
        "        ^",
    ),
    (
        "!vip",
        "column 1: unexpected character '!'. Write 'not' to negate a condition, '!=' for 'not equal'.",
        "^",
    ),
    (
        "spend$ > 3",
        "column 6: unexpected character '$'. Column names are letters, digits and underscores; "
        "put any other name in backticks (`Total Spend`).",
        "     ^",
    ),
    (
        "country = 'DE",
        "column 11: this text is never closed; add the closing '.",
        "          ^^^",
    ),
]


@pytest.mark.parametrize(("text", "head", "caret"), SYNTAX_ERRORS)
def test_syntax_errors_point_at_the_token(text: str, head: str, caret: str) -> None:
    assert error_of(text, None) == block(f"Rule 'R', {head}", text, caret)


def test_the_issue_example_error_is_rendered_exactly() -> None:
    with pytest.raises(SpecError) as info:
        parse_rules([("Young Professionals", "age between and 35")])
    assert info.value.problems == [
        "Rule 'Young Professionals', column 13: expected a value after 'between', found 'and'.\n"
        "  age between and 35\n"
        "              ^^^"
    ]
    assert "Fix:" in str(info.value) and "docs/rules.md" in str(info.value)


def test_errors_in_multi_line_rules_name_the_line() -> None:
    text = "age > 30 and\nincome >"
    assert error_of(text, None) == block(
        "Rule 'R', line 2, column 9: expected a column or a value after '>', found the end of "
        "the rule.",
        "income >",
        "        ^",
    )


SEMANTIC_ERRORS = [
    ("agee > 30", "column 1: unknown column 'agee'. Did you mean 'age'?", "^^^^"),
    ("Income > 30", "column 1: unknown column 'Income'. Did you mean 'income'?", "^^^^^^"),
    (
        "zzz > 30",
        "column 1: unknown column 'zzz'. Known columns: customer_id, age, income, spend, "
        "children, country, vip, email, signup_at, last_order_at.",
        "^^^",
    ),
    (
        "country = 5",
        "column 11: expected a quoted text for the text column 'country', found the number 5. "
        "Put it in quotes: '5'.",
        "          ^",
    ),
    (
        "age > '30'",
        "column 7: expected a number for the number column 'age', found the text '30'. Write "
        "numbers without quotes, e.g. 50000.",
        "      ^^^^",
    ),
    (
        "signup_at > '2024-01-01'",
        "column 13: expected a date (YYYY-MM-DD) for the date column 'signup_at', found the "
        "text '2024-01-01'. Write dates without quotes, e.g. 2024-01-31.",
        "            ^^^^^^^^^^^^",
    ),
    (
        "vip = 1",
        "column 7: expected true or false for the true/false column 'vip', found the number 1.",
        "      ^",
    ),
    (
        "age > country",
        "column 5: expected two columns of the same kind around '>', found the number column "
        "'age' and the text column 'country'.",
        "    ^",
    ),
    ("vip < true", "column 5: expected = or != with true/false values, found '<'.", "    ^"),
    ("1 = 1", "column 3: expected a column on one side of '=', found two values.", "  ^"),
    (
        "age between 35 and 22",
        "column 13: expected the lower bound first, found 35 above 22, so nothing would match; "
        "write 'between 22 and 35'.",
        "            ^^^^^^^^^",
    ),
    (
        "age between 20 and '30'",
        "column 20: expected a number for the number column 'age', found the text '30'. Write "
        "numbers without quotes, e.g. 50000.",
        "                   ^^^^",
    ),
    (
        "5 between 1 and 9",
        "column 1: expected a column before 'between', found the number 5.",
        "^",
    ),
    (
        "country in ('DE', 7)",
        "column 19: expected a quoted text for the text column 'country', found the number 7. "
        "Put it in quotes: '7'.",
        "                  ^",
    ),
    ("5 is null", "column 1: expected a column before 'is', found the number 5.", "^"),
    (
        "age within 90 days",
        "column 1: expected a date or timestamp column before 'within', found the number "
        "column 'age'.",
        "^^^",
    ),
    (
        "country older than 1 year",
        "column 1: expected a date or timestamp column before 'older than', found the text "
        "column 'country'.",
        "^^^^^^^",
    ),
    (
        "email before 2024-01-01",
        "column 1: expected a date or timestamp column before 'before', found the text column "
        "'email'.",
        "^^^^^",
    ),
    (
        "last_order_at within 90 dayz",
        "column 25: expected a unit (days, weeks, months or years) after '90', found 'dayz'.",
        "                        ^^^^",
    ),
    (
        "last_order_at within 1.5 years",
        "column 22: expected a whole number ≥ 0 before 'years', found 1.5.",
        "                     ^^^",
    ),
    (
        "last_order_at within -3 days",
        "column 22: expected a whole number ≥ 0 before 'days', found -3.",
        "                     ^^",
    ),
    (
        "last_order_at after 2024-02-30",
        "column 21: '2024-02-30' is not a calendar date (expected YYYY-MM-DD, e.g. 2024-01-31).",
        "                    ^^^^^^^^^^",
    ),
    (
        "age",
        "column 1: expected a condition, found the number column 'age' on its own. Compare it, "
        "e.g. 'age > 0'.",
        "^^^",
    ),
    ("5", "column 1: expected a condition, found the number 5 on its own.", "^"),
]


@pytest.mark.parametrize(("text", "head", "caret"), SEMANTIC_ERRORS)
def test_name_and_type_errors_point_at_the_token(text: str, head: str, caret: str) -> None:
    assert error_of(text) == block(f"Rule 'R', {head}", text, caret)


def test_types_are_not_checked_without_a_schema() -> None:
    assert parse_rules([("R", "country = 5 and zzz > 1")])[0].name == "R"


@pytest.mark.parametrize(
    ("rules", "bad", "head", "caret"),
    [
        (
            [("A", 'segment("A")')],
            'segment("A")',
            "Rule 'A', column 9: a rule cannot use its own segment ('A'); refer to a rule "
            "above it.",
            "        ^^^",
        ),
        (
            [("A", 'segment("B")'), ("B", "age > 1")],
            'segment("B")',
            "Rule 'A', column 9: segment 'B' is defined after this rule; a rule can only use "
            "the rules above it, so move 'B' up.",
            "        ^^^",
        ),
        (
            [("Families", "children > 0"), ("B", 'segment("Famlies")')],
            'segment("Famlies")',
            "Rule 'B', column 9: unknown segment 'Famlies'. Close matches: 'Families'.",
            "        ^^^^^^^^^",
        ),
        (
            [("Families", "children > 0"), ("B", "segment('Zzz')")],
            "segment('Zzz')",
            "Rule 'B', column 9: unknown segment 'Zzz'. Rules above this one: 'Families'.",
            "        ^^^^^",
        ),
    ],
)
def test_segment_references_must_name_an_earlier_rule(rules, bad, head, caret) -> None:
    with pytest.raises(SpecError) as info:
        parse_rules(rules, SCHEMA)
    assert info.value.problems == [block(head, bad, caret)]


def test_every_bad_rule_is_reported_at_once() -> None:
    rules = [
        ("Young Professionals", "age between and 35"),
        ("Fine", "age > 30"),
        ("Families", "childrn > 0 and country = 3"),
        ("Recent", "email within 90 days"),
    ]
    with pytest.raises(SpecError) as info:
        RulesSegmenter(rules).fit(small_frame())
    problems = info.value.problems
    assert [p.split(",")[0] for p in problems] == [
        "Rule 'Young Professionals'",
        "Rule 'Families'",
        "Rule 'Families'",
        "Rule 'Recent'",
    ]
    assert "unknown column 'childrn'. Did you mean 'children'?" in problems[1]
    assert "found the number 3" in problems[2]
    assert info.value.problem.startswith("4 problems in 3 rule(s):")
    assert all(p in str(info.value) for p in problems)


# ------------------------------------------------------------------------------- compilation
def small_frame() -> pd.DataFrame:
    """Ten customers built to sit on the edges (bounds, nulls, day boundaries, the future)."""
    ts = pd.Timestamp
    return pd.DataFrame(
        {
            "age": pd.array([22, 35, 36, None, 21, 30, 45, 60, 29, 35], dtype="Int64"),
            "income": [60e3, 50e3, 80e3, 45e3, 1.5e6, np.nan, 50001.0, 12e3, 70e3, 55e3],
            "spend": [1200.0, 50e3, 10.0, 0.0, 2.5, 100.0, 60e3, np.nan, 9e3, 1.0],
            "children": pd.array([0, 0, 2, 1, 0, 3, None, 0, 0, 1], dtype="Int64"),
            "country": ["DE", "FR", "de", None, "AT", "US", "DE", "FR", "O'Brien", "DE"],
            "vip": pd.array(
                [True, False, True, False, True, None, False, True, False, True], dtype="boolean"
            ),
            "email": ["a@x", None, "c@x", "d@x", "e@x", "f@x", None, "h@x", "i@x", "j@x"],
            "signup_at": [
                date(2024, 6, 30),
                date(2023, 12, 31),
                date(2023, 12, 30),
                date(2024, 7, 1),
                date(2022, 2, 28),
                None,
                date(2024, 12, 1),
                date(2020, 1, 1),
                date(2024, 11, 30),
                date(2024, 12, 31),
            ],
            "last_order_at": [
                ts("2024-10-02 00:00:00"),
                ts("2024-10-01 23:59:59"),
                ts("2024-12-31 23:59:59"),
                pd.NaT,
                ts("2025-01-05 10:00:00"),
                ts("2023-12-31 12:00:00"),
                ts("2023-12-30 08:00:00"),
                ts("2022-06-30 00:00:00"),
                ts("2024-12-01 00:00:01"),
                ts("2024-01-01 00:00:00"),
            ],
        },
        index=pd.Index([f"c{i:02d}" for i in range(1, 11)], name="customer_id"),
    )


def _f(mask: pd.Series) -> pd.Series:
    """A pandas mask with missing → False."""
    return mask.astype("boolean").fillna(False).astype(bool)


def _day(col: str):
    return lambda d: pd.to_datetime(d[col]).dt.normalize()


_last, _signup = _day("last_order_at"), _day("signup_at")
T = pd.Timestamp

# (rule, independent pandas mask); as-of date 2024-12-31
MASKS = [
    ("age = 35", lambda d: _f(d.age == 35)),
    ("age != 35", lambda d: _f(d.age != 35) & d.age.notna()),
    ("age < 30", lambda d: _f(d.age < 30)),
    ("age <= 30", lambda d: _f(d.age <= 30)),
    ("age > 30", lambda d: _f(d.age > 30)),
    ("age >= 30", lambda d: _f(d.age >= 30)),
    ("30 > age", lambda d: _f(d.age < 30)),
    ("age between 22 and 35", lambda d: _f((d.age >= 22) & (d.age <= 35))),
    ("age not between 22 and 35", lambda d: _f((d.age < 22) | (d.age > 35))),
    ("income > 50k", lambda d: _f(d.income > 50_000)),
    ("income >= 1.5m", lambda d: _f(d.income >= 1_500_000)),
    ("income > spend", lambda d: _f(d.income > d.spend)),
    ("country = 'DE'", lambda d: _f(d.country == "DE")),
    ("country != 'DE'", lambda d: _f(d.country != "DE") & d.country.notna()),
    ('country = "O\'Brien"', lambda d: _f(d.country == "O'Brien")),
    ("country in ('DE', 'FR')", lambda d: _f(d.country.isin(["DE", "FR"]))),
    (
        "country not in ('DE', 'FR')",
        lambda d: _f(~d.country.isin(["DE", "FR"])) & d.country.notna(),
    ),
    ("email is null", lambda d: d.email.isna()),
    ("email is not null", lambda d: d.email.notna()),
    ("vip", lambda d: _f(d.vip)),
    ("vip = false", lambda d: _f(d.vip == False)),  # noqa: E712
    ("not vip", lambda d: ~_f(d.vip)),
    ("true", lambda d: pd.Series(True, index=d.index)),
    ("not (age > 30)", lambda d: ~_f(d.age > 30)),
    (
        "age < 30 or income > 50k and children = 0",
        lambda d: _f(d.age < 30) | (_f(d.income > 50e3) & _f(d.children == 0)),
    ),
    (
        "(age < 30 or income > 50k) and children = 0",
        lambda d: (_f(d.age < 30) | _f(d.income > 50e3)) & _f(d.children == 0),
    ),
    ("signup_at >= 2024-07-01", lambda d: _f(_signup(d) >= T("2024-07-01"))),
    ("last_order_at = 2024-12-31", lambda d: _f(_last(d) == T("2024-12-31"))),
    (
        "last_order_at between 2023-12-30 and 2024-01-01",
        lambda d: _f((_last(d) >= T("2023-12-30")) & (_last(d) <= T("2024-01-01"))),
    ),
    (
        "last_order_at in (2023-12-31, 2024-12-31)",
        lambda d: _f(_last(d).isin([T("2023-12-31"), T("2024-12-31")])),
    ),
    # 2024-12-31 minus 90 days is 2024-10-02; the future order (2025) is not "within"
    (
        "last_order_at within 90 days",
        lambda d: _f((_last(d) >= T("2024-10-02")) & (_last(d) <= T("2024-12-31"))),
    ),
    (
        "last_order_at within 4 weeks",
        lambda d: _f((_last(d) >= T("2024-12-03")) & (_last(d) <= T("2024-12-31"))),
    ),
    (
        "signup_at within 1 month",
        lambda d: _f((_signup(d) >= T("2024-11-30")) & (_signup(d) <= T("2024-12-31"))),
    ),
    ("signup_at older than 1 year", lambda d: _f(_signup(d) < T("2023-12-31"))),
    ("last_order_at older than 1 year", lambda d: _f(_last(d) < T("2023-12-31"))),
    ("last_order_at before 2024-01-01", lambda d: _f(_last(d) < T("2024-01-01"))),
    ("signup_at after 2024-06-30", lambda d: _f(_signup(d) > T("2024-06-30"))),
    ("last_order_at after 2024-12-01", lambda d: _f(_last(d) >= T("2024-12-02"))),
]


@pytest.mark.parametrize(("rule", "mask"), MASKS, ids=[m[0] for m in MASKS])
def test_compiled_rules_match_pandas_masks(rule, mask) -> None:
    frame = small_frame()
    seg = RulesSegmenter({"R": rule}, mode="overlapping", as_of=AS_OF).fit(frame)
    expected = mask(frame).astype(bool)
    assert seg.matches_["R"].tolist() == expected.tolist(), rule


def test_masks_are_not_trivial() -> None:
    frame = small_frame()
    sizes = {rule: int(mask(frame).sum()) for rule, mask in MASKS if rule != "true"}
    assert all(0 < n < len(frame) for n in sizes.values()), sizes


def test_relative_dates_follow_the_calendar() -> None:
    # 2024-03-31 minus one month is 2024-02-29 (leap year); minus one year is 2023-03-31
    frame = pd.DataFrame(
        {"d": [date(2024, 2, 28), date(2024, 2, 29), date(2023, 3, 30), date(2023, 3, 31)]},
        index=pd.Index(list("abcd"), name="customer_id"),
    )
    seg = RulesSegmenter(
        [("Month", "d within 1 month"), ("Old", "d older than 1 year")],
        mode="overlapping",
        as_of=date(2024, 3, 31),
    ).fit(frame)
    assert seg.matches_["Month"].tolist() == [False, True, False, False]
    assert seg.matches_["Old"].tolist() == [False, False, True, False]


def test_as_of_forms_and_the_default() -> None:
    frame = small_frame()
    rule = {"R": "last_order_at within 90 days"}
    by_dt = RulesSegmenter(rule, as_of=AS_OF).fit(frame).labels_
    for as_of in (
        date(2024, 12, 31),
        "2024-12-31",
        datetime(2025, 1, 1, 3, tzinfo=timezone(timedelta(hours=5))),
    ):
        seg = RulesSegmenter(rule, as_of=as_of).fit(frame)
        assert seg.as_of_.date() == date(2024, 12, 31)
        pd.testing.assert_series_equal(seg.labels_, by_dt)
    default = RulesSegmenter(rule).fit(frame)  # latest date in the data: 2025-01-05
    assert default.as_of_ == datetime(2025, 1, 5, 10, 0)
    cutoff = T("2025-01-05") - pd.Timedelta(days=90)
    expected = _f((_last(frame) >= cutoff) & (_last(frame) <= T("2025-01-05")))
    assert (default.labels_ == "R").tolist() == expected.tolist()
    assert RulesSegmenter({"R": "age > 1"}).fit(frame).as_of_ is None


def test_zoned_timestamps_are_compared_by_their_utc_date() -> None:
    berlin = pd.to_datetime(["2024-10-01 23:30", "2024-10-02 01:30", "2024-10-02 02:30"])
    X = pd.DataFrame(
        {"t": berlin.tz_localize("Europe/Berlin")},  # UTC: 1 Oct 21:30, 1 Oct 23:30, 2 Oct 00:30
        index=pd.Index(list("abc"), name="customer_id"),
    )
    rules = {"R": "t = 2024-10-01", "Today": "t within 0 days"}
    seg = RulesSegmenter(rules, mode="overlapping").fit(X)
    assert seg.matches_["R"].tolist() == [True, True, False]
    assert seg.as_of_ == datetime(2024, 10, 2, 0, 30)  # the latest time, in UTC
    assert seg.matches_["Today"].tolist() == [False, False, True]


# ----------------------------------------------------------------- modes, other, set operations
ISSUE_RULES = [
    ("Young Professionals", "age between 22 and 35 and income > 50000"),
    ("Families", "children > 0"),
]


def test_first_match_and_overlapping() -> None:
    frame = small_frame()
    yp = _f((frame.age >= 22) & (frame.age <= 35) & (frame.income > 50_000))
    fam = _f(frame.children > 0)
    expected = np.select([yp, fam], ["Young Professionals", "Families"], "Other")
    first = RulesSegmenter(ISSUE_RULES).fit(frame)
    over = RulesSegmenter(ISSUE_RULES, mode="overlapping").fit(frame)
    for seg in (first, over):
        assert seg.labels_.tolist() == list(expected)
        assert seg.labels_.index.equals(frame.index) and seg.labels_.index.name == "customer_id"
        assert seg.matches_["Young Professionals"].tolist() == yp.tolist()
        assert seg.matches_["Families"].tolist() == fam.tolist()
    assert (yp & fam).any()  # c10 is both: the modes must differ there
    assert first.memberships_.sum(axis=1).max() == 1
    assert first.memberships_["Families"].tolist() == (fam & ~yp).tolist()
    assert over.memberships_["Families"].tolist() == fam.tolist()
    assert over.memberships_.loc["c10"].tolist() == [True, True]
    assert over.labels_["c10"] == "Young Professionals"


def test_other_label_and_unassigned() -> None:
    frame = small_frame()
    rest = RulesSegmenter(ISSUE_RULES, other="Everyone else").fit(frame).labels_
    none = RulesSegmenter(ISSUE_RULES, other=None).fit(frame).labels_
    assert (rest == "Everyone else").sum() == (none == UNASSIGNED).sum() > 0
    assert set(none) == {"Young Professionals", "Families", UNASSIGNED}


def test_segments_combine_by_union_intersection_and_difference() -> None:
    frame = small_frame()
    rules = [
        ("Rich", "income > 50k"),
        ("Young", "age < 30"),
        ("Rich or young", 'segment("Rich") or segment("Young")'),
        ("Rich and young", "segment('Rich') and segment('Young')"),
        ("Rich not young", 'segment("Rich") and not segment("Young")'),
        ("Kidless", "children = 0"),
        ("Neither", 'not (segment("Rich or young") or segment("Kidless"))'),
    ]
    m = RulesSegmenter(rules, mode="overlapping").fit(frame).matches_
    rich, young = _f(frame.income > 50e3), _f(frame.age < 30)
    assert m["Rich or young"].tolist() == (rich | young).tolist()
    assert m["Rich and young"].tolist() == (rich & young).tolist()
    assert m["Rich not young"].tolist() == (rich & ~young).tolist()
    assert m["Neither"].tolist() == (~(rich | young) & ~_f(frame.children == 0)).tolist()
    assert m["Rich not young"].sum() > 0 and m["Neither"].sum() > 0


# ----------------------------------------------------------------- estimator API and inputs
def test_parameters_are_stored_unchanged_and_fit_returns_self() -> None:
    rules = {"Families": "children > 0"}
    seg = RulesSegmenter(rules, mode="overlapping", other=None, as_of=None)
    assert seg.get_params() == {"rules": rules, "mode": "overlapping", "other": None, "as_of": None}
    assert seg.get_params()["rules"] is rules
    assert seg.fit(small_frame()) is seg
    assert repr(seg).startswith("RulesSegmenter(rules={'Families'")
    assert seg.set_params(other="Rest").other == "Rest"
    assert seg.rules_[0].text == "children > 0" and seg.features_ == ["children"]


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        RulesSegmenter(ISSUE_RULES).predict(small_frame())


def test_predict_evaluates_new_rows_with_the_fitted_as_of() -> None:
    frame = small_frame()
    seg = RulesSegmenter([*ISSUE_RULES, ("Recent", "last_order_at within 90 days")]).fit(frame)
    new = frame.iloc[[9, 0, 2]]
    pd.testing.assert_series_equal(seg.predict(new), seg.labels_.loc[new.index])
    shifted = frame.assign(last_order_at=frame.last_order_at + pd.Timedelta(days=400))
    later = RulesSegmenter(seg.rules).fit(shifted)
    assert later.as_of_ != seg.as_of_
    members = seg.predict_memberships(frame)
    pd.testing.assert_frame_equal(members, seg.memberships_)
    with pytest.raises(SpecError, match="unknown column 'children'"):
        seg.predict(frame.drop(columns="children"))


def test_input_shapes() -> None:
    frame = small_frame()
    by_index = RulesSegmenter(ISSUE_RULES).fit(frame).labels_
    by_column = RulesSegmenter(ISSUE_RULES).fit(frame.reset_index()).labels_
    unnamed = RulesSegmenter(ISSUE_RULES).fit(frame.rename_axis(None)).labels_
    pd.testing.assert_series_equal(by_index, by_column)
    pd.testing.assert_series_equal(by_index, unnamed)
    as_table = RulesSegmenter(ISSUE_RULES).fit(ibis.memtable(frame.reset_index())).labels_
    pd.testing.assert_series_equal(as_table, by_index.sort_index())
    with pytest.raises(ModelError, match="Got list"):
        RulesSegmenter(ISSUE_RULES).fit([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="customer_id column"):
        RulesSegmenter(ISSUE_RULES).fit(ibis.memtable(frame))
    with pytest.raises(ModelError, match="no rows"):
        RulesSegmenter(ISSUE_RULES).fit(frame.iloc[:0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"mode": "all"},
            ModelError,
            "The 'mode' parameter of RulesSegmenter must be 'first_match' or 'overlapping'. Got 'all'.",
        ),
        (
            {"other": ""},
            ModelError,
            "The 'other' parameter of RulesSegmenter must be a non-empty label or None. Got ''.",
        ),
        ({"other": "Families"}, ModelError, "must differ from every rule name. Got 'Families'"),
        ({"as_of": 5}, ModelError, "an ISO date such as '2024-12-31', or None. Got 5."),
        ({"as_of": "yesterday"}, ModelError, "Got 'yesterday'."),
    ],
)
def test_bad_parameters_raise_in_fit(kwargs, error, message) -> None:
    seg = RulesSegmenter(ISSUE_RULES, **kwargs)  # no validation in __init__
    with pytest.raises(error) as info:
        seg.fit(small_frame())
    assert message in str(info.value) and "Fix:" in str(info.value)


@pytest.mark.parametrize(
    ("rules", "problems"),
    [
        ("age > 1", ["must be a mapping {name: rule} or a list of (name, rule) pairs. Got str."]),
        ([], ["RulesSegmenter needs at least one rule; got none."]),
        (
            [("A", "age > 1"), ("A", "age > 2"), ("", "age > 3"), ("B", 5)],
            [
                "two rules are named 'A'; rule names must differ.",
                "rules[2] has an empty name; every rule needs a name.",
                "rules[3] must be a (name, rule) pair of strings; got ('B', 5).",
            ],
        ),
    ],
)
def test_bad_rule_lists_raise_spec_errors(rules, problems) -> None:
    with pytest.raises(SpecError) as info:
        RulesSegmenter(rules).fit(small_frame())
    assert len(info.value.problems) == len(problems)
    for got, want in zip(info.value.problems, problems, strict=True):
        assert want in got


def test_segmentation_details_and_warnings() -> None:
    frame = small_frame()
    rules = [*ISSUE_RULES, ("Kids again", "children >= 1"), ("Nobody", "age > 200")]
    seg = RulesSegmenter(rules).fit(frame)
    s = seg.segmentation("lifestyle")
    assert isinstance(s, Segmentation) and (s.name, s.method) == ("lifestyle", "rules")
    assert s.features == ["age", "income", "children"]
    assert s.details["rules"] == dict(rules) and s.details["mode"] == "first_match"
    yp = _f((frame.age >= 22) & (frame.age <= 35) & (frame.income > 50_000))
    fam = _f(frame.children > 0)
    assert s.details["matches"] == {
        "Young Professionals": int(yp.sum()),
        "Families": int(fam.sum()),
        "Kids again": int(fam.sum()),
        "Nobody": 0,
    }
    assert s.details["overlaps"]["Young Professionals"]["Families"] == int((yp & fam).sum())
    assert s.details["overlaps"]["Families"]["Kids again"] == int(fam.sum())
    assert s.details["assigned"] == {
        "Families": int((fam & ~yp).sum()),
        "Other": int((~fam & ~yp).sum()),
        "Young Professionals": int(yp.sum()),
    }
    assert sum(s.sizes()) == len(frame)
    assert s.warnings == [
        f"Rule 'Kids again' matches {int(fam.sum())} customers, but earlier rules take all of "
        "them; move it up or use mode='overlapping'.",
        "Rule 'Nobody' matches no customer.",
    ]


# ------------------------------------------------------------------- in-engine SQL, snapshots
def assert_snapshot(case: str, sql: str) -> None:
    assert_sql_snapshot(SNAPSHOTS, case, sql)


SNAPSHOT_CASES = {
    "young_professionals": ISSUE_RULES,
    "dates_and_segments": [
        ("Dormant", "last_order_at older than 1 year or last_order_at before 2023-01-01"),
        ("New", "signup_at after 2024-06-30 and country in ('DE', 'AT')"),
        ("Active", 'last_order_at within 90 days and not segment("New")'),
        ("Win back", 'email is not null and not (segment("Dormant") or segment("Active"))'),
    ],
}


@pytest.mark.parametrize("case", sorted(SNAPSHOT_CASES))
def test_generated_sql_snapshot_and_it_runs_in_duckdb(case: str) -> None:
    rules = SNAPSHOT_CASES[case]
    frame = small_frame()
    seg = RulesSegmenter(rules, as_of=AS_OF).fit(frame)
    table = ibis.table(SCHEMA, name="customer_features")
    sql = ibis.to_sql(seg.to_ibis(table).select("customer_id", "segment"), dialect="duckdb")
    assert_snapshot(case, sql)
    con = duckdb.connect()
    data = frame.reset_index().astype({"age": "float64", "children": "float64"})
    con.register("src", data)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE customer_features AS SELECT customer_id, CAST(age AS BIGINT) AS age, income, "
        "spend, CAST(children AS BIGINT) AS children, country, vip, email, "
        "CAST(signup_at AS DATE) AS signup_at, CAST(last_order_at AS TIMESTAMP) AS last_order_at "
        "FROM src"
    )
    got = con.execute(sql).df().set_index("customer_id")["segment"]
    assert got.reindex(frame.index).tolist() == seg.labels_.tolist()
    assert seg.labels_.nunique() == len(rules) + 1  # every rule and Other are used


def test_compile_rules_is_usable_on_its_own() -> None:
    t = ibis.table(SCHEMA, name="customer_features")
    rules = parse_rules(ISSUE_RULES, t.schema())
    exprs = compile_rules(rules, t)
    assert list(exprs) == ["Young Professionals", "Families"]
    sql = ibis.to_sql(t.select(seg=first_match(exprs, "Other")), dialect="duckdb")
    assert "BETWEEN 22 AND 35" in sql and "ELSE 'Other'" in sql
    relative = parse_rules([("R", "last_order_at within 9 days")], t.schema())
    with pytest.raises(SpecError, match="need an as-of date"):
        compile_rules(relative, t)


# --------------------------------------------------------------- generated and real data
def test_issue_example_on_generated_personas() -> None:
    sample = make_retail(2000, seed=7)
    customers = sample.customers.set_index("customer_id")
    end = pd.Timestamp(sample.orders.ordered_at.max()).normalize()
    born = pd.to_datetime(customers.birth_date)
    before_birthday = (born.dt.month > end.month) | (
        (born.dt.month == end.month) & (born.dt.day > end.day)
    )
    X = customers[["income", "children", "signup_at"]].assign(
        age=end.year - born.dt.year - before_birthday.astype(int)
    )
    seg = RulesSegmenter(ISSUE_RULES).fit(X)
    yp = X.age.between(22, 35) & (X.income > 50_000)
    expected = np.select([yp, X.children > 0], ["Young Professionals", "Families"], "Other")
    assert seg.labels_.tolist() == list(expected)
    persona = sample.truth.set_index("customer_id").persona.reindex(X.index)
    in_yp = seg.labels_[persona == "Young Professionals"] == "Young Professionals"
    assert in_yp.mean() >= 0.95, in_yp.mean()
    families = seg.labels_[persona == "Families"]
    assert (families != "Other").mean() >= 0.95  # every Families persona has children
    assert (seg.labels_ == "Other").sum() > 0


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory):
    ws = segmint.Workspace(tmp_path_factory.mktemp("rules") / "cdnow.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    ws.features()
    yield ws
    ws.close()


def test_rules_on_real_cdnow_features_in_the_workspace(cdnow) -> None:
    table = cdnow.table("customer_features")
    rules = [
        ("Active", "last_order_at within 90 days"),
        ("Big early", "first_order_at before 1997-02-01 and monetary_total >= 1k"),
        ("Lapsed", "last_order_at older than 1 year"),
    ]
    seg = RulesSegmenter(rules, mode="overlapping").fit(table)
    f = table.to_pandas().set_index("customer_id")
    # default as-of: the latest date in the features = the last order of the data set
    assert seg.as_of_.date() == date(1998, 6, 30) == f.last_order_at.max().date()
    m = seg.matches_.loc[f.index]
    assert m["Active"].tolist() == (f.recency_days <= 90).tolist()
    # one year before 1998-06-30 is 1997-06-30 = 365 days (no 29 February in between)
    assert m["Lapsed"].tolist() == (f.recency_days > 365).tolist()
    big = (f.first_order_at < pd.Timestamp("1997-02-01")) & (f.monetary_total >= 1000)
    assert m["Big early"].tolist() == big.tolist()
    assert 0 < m["Active"].sum() < m["Lapsed"].sum() < len(f)
    assert list(seg.labels_.index) == sorted(seg.labels_.index)
    in_engine = seg.to_ibis(table).select("customer_id", "segment").to_pandas()
    assert in_engine.set_index("customer_id").segment.loc[f.index].tolist() == (
        seg.labels_.loc[f.index].tolist()
    )


def test_rules_on_real_wholesale_customers() -> None:
    raw = pd.read_csv(shared_file("uci_wholesale_customers", "Wholesale customers data.csv"))
    raw.index = pd.Index([f"W{i:03d}" for i in range(len(raw))], name="customer_id")
    rules = {
        "Big hotels": "Channel = 1 and Fresh >= 20k",
        "Grocers": "Channel = 2 and (Grocery between 10k and 30k or `Detergents_Paper` > 10k)",
        "Lisbon or Oporto": "Region in (1, 2)",
    }
    seg = RulesSegmenter(rules, other="Rest").fit(raw)
    expected = np.select(
        [
            (raw.Channel == 1) & (raw.Fresh >= 20_000),
            (raw.Channel == 2)
            & (raw.Grocery.between(10_000, 30_000) | (raw.Detergents_Paper > 10_000)),
            raw.Region.isin([1, 2]),
        ],
        list(rules),
        "Rest",
    )
    assert seg.labels_.tolist() == list(expected)
    assert seg.labels_.nunique() == 4


# --------------------------------------------------------------------------------- the docs
def test_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", doc, flags=re.S | re.M)
    assert blocks, "docs/rules.md has no python examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "docs/rules.md", "exec"), namespace)


def test_docs_list_every_keyword() -> None:
    from segmint.segment.rules._grammar import KEYWORDS, UNITS

    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").lower()
    missing = [w for w in (*KEYWORDS, *UNITS) if f"`{w}`" not in doc]
    assert not missing, missing


def test_docs_error_examples_are_what_the_checker_says() -> None:
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    fenced = re.findall(r"^```(\w*)\n(.*?)^```", doc, flags=re.S | re.M)
    shown = [body for lang, body in fenced if not lang and body.startswith("Rule '")]
    assert len(shown) == 2
    schema = ibis.schema({"age": "int64", "children": "int64", "country": "string"})
    for block_text in shown:
        heads = re.findall(r"^Rule '([^']+)'.*\n  (.*)$", block_text, flags=re.M)
        with pytest.raises(SpecError) as info:
            parse_rules(heads, schema)
        assert "\n".join(info.value.problems) == block_text.rstrip("\n")
