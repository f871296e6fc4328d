"""The rule grammar (Lark, LALR(1), basic lexer). Keywords are case-insensitive and reserved.

``or`` binds loosest, then ``and``, then ``not``; every comparison is one predicate. A column is
a ``snake_case`` identifier or any name in backticks (`` `Total Spend` ``). Parsing never
evaluates anything: the tree is turned into :mod:`segmint.segment.rules._ast` nodes.

>>> PARSER.parse("age between 22 and 35").data
'between'
"""

from __future__ import annotations

from lark import Lark

__all__ = ["GRAMMAR", "KEYWORDS", "PARSER", "UNITS"]

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr                           -> negation
         | atom
?atom: _LPAR or_expr _RPAR
     | operand COMP_OP operand                    -> compare
     | operand BETWEEN value _AND value           -> between
     | operand NOT BETWEEN value _AND value       -> between
     | operand IN _LPAR values _RPAR              -> in_list
     | operand NOT IN _LPAR values _RPAR          -> in_list
     | operand IS NULL                            -> is_null
     | operand IS NOT NULL                        -> is_null
     | column WITHIN NUMBER NAME                  -> within
     | column OLDER THAN NUMBER NAME              -> older_than
     | column BEFORE DATE                         -> before
     | column AFTER DATE                          -> after
     | SEGMENT _LPAR STRING _RPAR                 -> segment_ref
     | operand                                    -> truth

values: value (_COMMA value)* _COMMA?
?operand: column | value
column: NAME | QUOTED_NAME
value: NUMBER | STRING | DATE | TRUE | FALSE

_OR: "or"i
_AND: "and"i
NOT: "not"i
BETWEEN: "between"i
IN: "in"i
IS: "is"i
NULL: "null"i
WITHIN: "within"i
OLDER: "older"i
THAN: "than"i
BEFORE: "before"i
AFTER: "after"i
SEGMENT: "segment"i
TRUE: "true"i
FALSE: "false"i

COMP_OP: /<=|>=|!=|<>|==|=|<|>/
DATE.3: /\d{4}-\d{2}-\d{2}(?![0-9A-Za-z_])/
NUMBER.2: /-?\d+(?:_\d+)*(?:\.\d+)?(?:[kKmM](?![0-9A-Za-z_]))?/
STRING: /'(?:[^'\\\n]|\\.)*'/ | /"(?:[^"\\\n]|\\.)*"/
NAME: /[a-z_][a-z0-9_]*/i
QUOTED_NAME: /`[^`\n]+`/
_LPAR: "("
_RPAR: ")"
_COMMA: ","

%import common.WS
%ignore WS
"""

#: reserved words (a column with one of these names needs backticks)
KEYWORDS = (
    "after",
    "and",
    "before",
    "between",
    "false",
    "in",
    "is",
    "not",
    "null",
    "older",
    "or",
    "segment",
    "than",
    "true",
    "within",
)

#: unit words of relative dates -> canonical unit
UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
}

PARSER = Lark(GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)
