"""The rule language (M4): named segments from rules such as ``income > 50k and children = 0``.

Rules are parsed by a real LALR parser (Lark), never evaluated as Python, checked against the
feature columns (unknown names, wrong types, every problem of every rule at once, each with a
caret under the token) and compiled to Ibis expressions, so the engine runs them. The language
is described in ``docs/rules.md``.

>>> import ibis
>>> t = ibis.table({"age": "int64", "children": "int64"}, name="customer_features")
>>> rules = parse_rules([("Young", "age < 30"), ("Families", "children > 0")], t.schema())
>>> sorted(compile_rules(rules, t))
['Families', 'Young']
"""

from segmint.segment.rules._ast import Rule
from segmint.segment.rules._check import parse_rules
from segmint.segment.rules._compile import compile_rules, first_match
from segmint.segment.rules._segmenter import RulesSegmenter

__all__ = ["Rule", "RulesSegmenter", "compile_rules", "first_match", "parse_rules"]
