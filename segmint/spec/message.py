"""Message templates (M12): the sandbox they render in, and the check that runs when one is saved.

A message template is a subject or body a marketer writes in the spec (``templates:``) or in
the web app, with fields per customer (``{{ first_name }}``) and per segment
(``{{ segment.name }}``, ``{{ plan.offer }}``). It is user text that runs once per customer of
every export, so it is checked when it is written (the spec is loaded, the form is sent) and a
mistake is never first found at export time. It lives in the spec stage for that reason:
:mod:`segmint.activate.templates` renders what this module accepted.

Three layers keep a template to "text with fields":

- **A small language.** Only fields, the filters in :data:`FILTERS`, ``{% if %}``,
  comparisons, ``and``/``or``/``not``, ``~`` and ``+``/``-`` are accepted. Loops, ``{% set %}``,
  macros, includes, function and method calls and ``*`` are refused, so rendering one row
  takes time bounded by the text's size and no row can take much longer than the next.
- **Known fields only.** A name that is not in :data:`CUSTOMER_FIELDS`, ``segment.*``
  (:data:`SEGMENT_FIELDS`) or ``plan.*`` (:data:`PLAN_FIELDS`) is an error with a
  "did you mean"; so is an attribute of a value (``first_name.upper``; use ``|upper``).
- **The sandbox.** Templates render in Jinja2's
  :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with no globals (no ``range``,
  ``cycler``, ``lipsum``), autoescape off (plain text, not HTML), :class:`~jinja2.StrictUndefined`,
  and no attribute of any object readable (``segment.name`` is a key of a plain dict). An
  escape such as ``{{ ''.__class__.__mro__ }}`` is refused by the check, and would be refused
  by the sandbox too.

Undefined policy: a customer field with no value is empty text (``""``, never ``None``, so
``{{ city|title }}`` cannot print "None"); ``{{ first_name or "there" }}`` and
``{{ first_name|default("there") }}`` give a fallback (here ``default`` also replaces empty
text, unlike Jinja2's own). A field that does not exist is an error when the template is
saved, and :class:`~jinja2.StrictUndefined` would refuse it at render time too. Each template is also rendered once
for a sample customer with every field set and once with every customer field missing, so one
that would fail on a real row (``{{ first_name[0] }}`` without a first name) is refused at once.

>>> check_template("Hi {{ first_name or 'there' }}, {{ plan.offer }}", "subject")
frozenset({'first_name'})
>>> try:
...     check_template("{{ frist_name }}", "body")
... except TemplateProblem as exc:
...     print(exc.problem)
unknown field 'frist_name' (line 1: {{ frist_name }}); did you mean 'first_name'?
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "CUSTOMER_FIELDS",
    "FILTERS",
    "MAX_CHARS",
    "PLAN_FIELDS",
    "RENDER_ERRORS",
    "SEGMENT_FIELDS",
    "TEMPLATE_FIELDS",
    "TemplateProblem",
    "check_template",
    "compile_template",
    "environment",
]

#: what a template may read of each customer (the export's normalized contacts)
CUSTOMER_FIELDS = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "region",
    "country",
    "postal_code",
    "gender",
    "birth_year",
)
#: ``segment.<field>``: the segment's display name, label and number of customers
SEGMENT_FIELDS = ("name", "label", "size")
#: ``plan.<field>``: the segment's targeting plan
PLAN_FIELDS = ("goal", "channel", "offer", "message")
#: the two templates a plan holds
TEMPLATE_FIELDS = ("subject", "body")
#: the most characters of each template's text
MAX_CHARS = {"subject": 1_000, "body": 20_000}
#: the filters a template may use (Jinja2's own, each bounded in the text it makes)
FILTERS = (
    "capitalize",
    "d",
    "default",
    "first",
    "float",
    "int",
    "last",
    "length",
    "lower",
    "round",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
    "wordcount",
)
_NAMESPACES = {"segment": SEGMENT_FIELDS, "plan": PLAN_FIELDS}
_FIX = (
    "write fields as {{ first_name }}, {{ segment.name }} or {{ plan.offer }}, a fallback as "
    '{{ first_name or "there" }} and conditions as {% if city %}…{% endif %} (docs/activation.md, '
    '"Message templates").'
)
#: node types a template may hold besides names, fields, filters and tests
_PLAIN = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Concat,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Add,
    nodes.Sub,
    nodes.Neg,
    nodes.Pos,
    nodes.Keyword,
    nodes.List,
    nodes.Tuple,
    nodes.Slice,
)
_REFUSED = {
    nodes.For: "a {% for %} loop",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.Macro: "a {% macro %}",
    nodes.CallBlock: "a {% call %} block",
    nodes.Call: "a function or method call",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "a {% block %}",
    nodes.FilterBlock: "a {% filter %} block",
    nodes.With: "{% with %}",
    nodes.Mul: "the operator *",
    nodes.Pow: "the operator **",
    nodes.Div: "the operator /",
    nodes.FloorDiv: "the operator //",
    nodes.Mod: "the operator %",
    nodes.Dict: "a {…} dict",
}


class TemplateProblem(ValueError):
    """A template that cannot be saved: ``problem`` (what was found) and ``fix``."""

    def __init__(self, problem: str, fix: str = _FIX) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} Fix: {fix}")


class _Sandbox(ImmutableSandboxedEnvironment):
    """No attribute of any value is readable; mappings are read by key only."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """``|default``: the fallback for a missing value: undefined, ``None`` or empty text
    (``boolean=True``: any false value, as in Jinja2)."""
    missing = isinstance(value, jinja2.Undefined) or value is None or value == ""
    return default_value if missing or (boolean and not value) else value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one sandboxed environment every template renders in."""
    env = _Sandbox(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.globals.clear()
    env.filters = {name: DEFAULT_FILTERS[name] for name in FILTERS}
    env.filters["default"] = env.filters["d"] = _default
    return env


def _line(text: str, lineno: int | None) -> str:
    lines = text.splitlines() or [""]
    n = min(max(lineno or 1, 1), len(lines))
    shown = lines[n - 1].strip()
    return f"line {n}: {shown[:80]}{'…' if len(shown) > 80 else ''}"


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; the fields are {', '.join(choices)}."


_ALL_FIELDS = [*CUSTOMER_FIELDS, *(f"{ns}.{f}" for ns, fs in _NAMESPACES.items() for f in fs)]


class _Checker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.fields: set[str] = set()

    def fail(self, node: nodes.Node, what: str, fix: str = _FIX, hint: str = "") -> TemplateProblem:
        return TemplateProblem(f"{what} ({_line(self.text, node.lineno)}){hint}", fix)

    def sandbox(self, node: nodes.Node, attr: str) -> TemplateProblem:
        return self.fail(
            node,
            f"the template reads the internal attribute '{attr}', which the sandbox refuses",
            "a template reads only customer, segment and plan fields; " + _FIX,
        )

    def visit(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Name):
            self.name(node)
        elif isinstance(node, nodes.Getattr):
            self.field(node, node.node, node.attr)
        elif isinstance(node, nodes.Getitem):
            self.getitem(node)
        elif isinstance(node, nodes.Filter | nodes.Test):
            self.call(node)
        elif isinstance(node, _PLAIN):
            for child in node.iter_child_nodes():
                self.visit(child)
        else:
            what = _REFUSED.get(type(node), type(node).__name__)
            raise self.fail(node, f"message templates cannot use {what}")

    def name(self, node: nodes.Name) -> None:
        if node.name in CUSTOMER_FIELDS:
            self.fields.add(node.name)
        elif node.name in _NAMESPACES:
            shown = ", ".join(f"{node.name}.{f}" for f in _NAMESPACES[node.name])
            raise self.fail(node, f"'{node.name}' alone is not text; use one of {shown}")
        else:
            hint = _did_you_mean(node.name, _ALL_FIELDS)
            raise self.fail(node, f"unknown field '{node.name}'", hint=hint)

    def field(self, node: nodes.Node, of: nodes.Node, attr: Any) -> None:
        if isinstance(attr, str) and attr.startswith("_"):
            raise self.sandbox(node, attr)
        if isinstance(of, nodes.Name) and of.name in _NAMESPACES:
            known = _NAMESPACES[of.name]
            if attr not in known:
                hint = _did_you_mean(f"{of.name}.{attr}", [f"{of.name}.{f}" for f in known])
                raise self.fail(node, f"unknown field '{of.name}.{attr}'", hint=hint)
            return
        raise self.fail(
            node,
            f"a template reads fields, not attributes or methods of values (found '.{attr}')",
            "use a filter instead, e.g. {{ first_name|upper }} or {{ city|title }}; " + _FIX,
        )

    def getitem(self, node: nodes.Getitem) -> None:
        arg = node.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            self.field(node, node.node, arg.value)
            return
        if isinstance(arg, nodes.Slice) or (
            isinstance(arg, nodes.Const) and isinstance(arg.value, int)
        ):
            self.visit(node.node)
            self.visit(arg)
            return
        raise self.fail(node, "a template indexes text only by a number or a slice ([0], [:1])")

    def call(self, node: nodes.Filter | nodes.Test) -> None:
        env = environment()
        kind, known = (
            ("filter", env.filters) if isinstance(node, nodes.Filter) else ("test", env.tests)
        )
        if node.name not in known:
            hint = f"; the filters are {', '.join(FILTERS)}" if kind == "filter" else ""
            raise self.fail(node, f"unknown {kind} '{node.name}'", hint=hint)
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise self.fail(node, f"a {kind} cannot take *args or **kwargs")
        for child in node.iter_child_nodes():
            self.visit(child)


#: what rendering a checked template can still raise on some value (a filter's own
#: assertions included: ``|truncate(-5)``)
RENDER_ERRORS = (
    jinja2.TemplateError,
    TypeError,
    ValueError,
    ArithmeticError,
    LookupError,
    AssertionError,
)

SAMPLE_CUSTOMER = {
    "customer_id": "C-1001",
    "first_name": "Anna",
    "last_name": "Example",
    "email": "anna@example.com",
    "phone": "+4930123456",
    "city": "Berlin",
    "region": "Berlin",
    "country": "DE",
    "postal_code": "10115",
    "gender": "f",
    "birth_year": "1990",
}
SAMPLE_SEGMENT = {"name": "Loyal big spenders", "label": "1", "size": 1200}
SAMPLE_PLAN = {
    "goal": "retain",
    "channel": "email",
    "offer": "VIP: early access and exclusive service",
    "message": "Thank you for being one of our best customers: early access to what's new.",
}


@lru_cache(maxsize=512)
def _compiled(text: str, which: str) -> tuple[jinja2.Template, frozenset[str]]:
    limit = MAX_CHARS.get(which, MAX_CHARS["body"])
    if len(text) > limit:
        raise TemplateProblem(
            f"the {which} template has {len(text):,} characters; at most {limit:,} are allowed",
            f"shorten the {which}.",
        )
    env = environment()
    checker = _Checker(text)
    try:
        tree = env.parse(text)
        checker.visit(tree)
        template = env.from_string(tree)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"syntax error: {exc.message} ({_line(text, exc.lineno)})") from None
    except RecursionError:  # (((((… or - - - … thousands deep
        raise TemplateProblem(
            f"the {which} template nests expressions too deeply to read",
            "a message needs fields, fallbacks and a few conditions; " + _FIX,
        ) from None
    segment_plan = {"segment": SAMPLE_SEGMENT, "plan": SAMPLE_PLAN}
    samples = [
        ("a sample customer", {**SAMPLE_CUSTOMER, **segment_plan}),
        (
            "a customer with no contact fields",
            {**dict.fromkeys(CUSTOMER_FIELDS, ""), "customer_id": "C-1002", **segment_plan},
        ),
    ]
    for who, context in samples:
        try:
            template.render(context)
        except RENDER_ERRORS as exc:
            raise TemplateProblem(
                f"the template fails for {who}: {exc}",
                "guard fields that may be missing, e.g. {% if first_name %}{{ first_name[0] }}"
                '{% endif %} or {{ first_name or "there" }}; ' + _FIX,
            ) from None
    return template, frozenset(checker.fields)


def check_template(text: str, which: str = "body") -> frozenset[str]:
    """Check ``text`` as the ``which`` template (subject or body): the customer fields it reads.

    Raises :class:`TemplateProblem` (a ``ValueError``, so a spec model reports it with the key
    it was found under) naming what was found and how to fix it.
    """
    return _compiled(text, which)[1]


def compile_template(text: str, which: str = "body") -> jinja2.Template:
    """The checked, compiled template (cached: compiled once per text)."""
    return _compiled(text, which)[0]
