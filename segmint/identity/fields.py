"""Zero configuration: the linkage fields, comparisons and blocking rules chosen from the
customer columns a workspace has.

A user should not have to know what a blocking rule or a comparison level is to link their
customers. Each customers column segmint recognises (the canonical names, e-mail, phone, birth
date, city, postal code, region, country, company, and extra columns whose names say they hold
an address, a full name or an identifier such as a national id) becomes one normalised linkage
field with the Splink comparison that suits its kind. A spec (``identity:`` in the pipeline
spec, or :class:`IdentityOptions`) can replace the fields, comparisons, blocking rules and the
threshold; what was chosen is recorded with every run and shown by ``segmint dedupe``.

The normalisation is SQL, run in the workspace engine, so the prepared table comes out typed
and small (only the linkage fields). It is written in DuckDB's dialect and translated for
Spark (:func:`prepare_sql` with ``dialect="spark"``) by sqlglot, with one function Spark lacks
(``strip_accents``) as a ``translate`` over the accented Latin letters, so that both engines
give the same linkage fields. An address also gives its house number as a field of
its own: two sites on one street differ there, and a street-level string similarity would
call them alike (on the Chicago list this one field took pairwise F1 from 0.89 to 0.94).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segmint.spec.model import IdentitySpec

__all__ = [
    "DEFAULT_THRESHOLD",
    "Field",
    "IdentityOptions",
    "blocking_rules",
    "choose_fields",
    "comparisons",
    "prepare_sql",
    "training_rules",
]

#: link two records when the model gives them at least this probability of being one person
DEFAULT_THRESHOLD = 0.95
#: blocking rules that would generate more candidate pairs than this are left out (noted)
MAX_PAIRS_PER_RULE = 20_000_000

_LEGAL = r"\b(inc|incorporated|ltd|limited|llc|llp|plc|corp|corporation|co|company|gmbh|ag|sa|sas|srl|spa|bv|nv|oy|ab|as|kg|pty)\b"
_ADDRESS_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "square": "sq",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "apartment": "apt",
    "suite": "ste",
}
_ID_NAME = re.compile(
    r"(national|ssn|social_?security|passport|tax|vat|nino|\bnin\b|licen[cs]e|citizen|"
    r"personal_?(id|number|code)|id_?(number|card|no)|document|ein|crn)",
    re.IGNORECASE,
)
_ADDRESS_NAME = re.compile(r"^(address|street|address_?(line)?_?1|street_?address|addr)$", re.I)
_LAT_NAME = re.compile(r"^(lat|latitude)$", re.I)
_LNG_NAME = re.compile(r"^(lng|lon|long|longitude)$", re.I)
_NAME_NAME = re.compile(r"^(name|full_?name|customer_?name|contact_?name|person_?name)$", re.I)
_ORG_NAME = re.compile(
    r"^(organi[sz]ation|org|business|account|site|store|shop|practice|employer|firm|agency)"
    r"_?name$|^(organi[sz]ation|business_?name)$",
    re.I,
)


@dataclass(frozen=True)
class Field:
    """One linkage field: its name in the prepared table, its kind and the SQL that makes it."""

    name: str
    kind: str
    source: str
    sql: str


@dataclass
class IdentityOptions:
    """What a spec can set (all optional; zero configuration chooses the rest).

    ``fields`` maps a customers column to a kind (``person_name``, ``first_name``,
    ``last_name``, ``company``, ``email``, ``phone``, ``date``, ``address``, ``city``,
    ``postal_code``, ``region``, ``country``, ``id``, ``text``); ``comparisons`` replaces the
    chosen Splink comparisons (Splink's JSON form); ``blocking`` replaces the blocking rules
    (SQL conditions on ``l.`` and ``r.``, or lists of fields to match exactly).
    """

    threshold: float | None = None
    fields: dict[str, str] | None = None
    comparisons: list[dict[str, Any]] | None = None
    blocking: list[str | list[str]] | None = None
    review_floor: float = 0.05
    max_pairs_per_rule: int = MAX_PAIRS_PER_RULE
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: IdentitySpec) -> IdentityOptions:
        """The options a pipeline spec's ``identity:`` section sets."""
        return cls(
            threshold=spec.threshold,
            fields=spec.fields,
            comparisons=spec.comparisons,
            blocking=spec.blocking,
            review_floor=spec.review_floor,
        )


def _text(col: str) -> str:
    """Lower case, accents and punctuation gone, single spaces; empty becomes NULL."""
    c = f"lower(strip_accents(CAST({col} AS VARCHAR)))"
    c = f"regexp_replace({c}, '[.''`]', '', 'g')"  # n.v. -> nv, o'neil -> oneil
    c = f"regexp_replace({c}, '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(trim({c}), '')"


def _company(col: str) -> str:
    c = f"regexp_replace({_text(col)}, '{_LEGAL}', '', 'g')"
    c = f"regexp_replace({c}, ' +', ' ', 'g')"
    return f"nullif(trim({c}), '')"


def _address(col: str) -> str:
    c = _text(col)
    for word, short in _ADDRESS_WORDS.items():
        c = f"regexp_replace({c}, '\\b{word}\\b', '{short}', 'g')"
    return c


def _digits(col: str) -> str:
    return f"nullif(regexp_replace(CAST({col} AS VARCHAR), '[^0-9]', '', 'g'), '')"


def _kind_sql(kind: str, col: str) -> str:
    q = f'"{col}"'
    if kind in ("person_name", "first_name", "last_name", "city", "region", "text"):
        return _text(q)
    if kind == "company":
        return _company(q)
    if kind == "email":
        return f"nullif(lower(trim(CAST({q} AS VARCHAR))), '')"
    if kind == "phone":
        # the last 9 digits: '+1 312 386 5286', '312-386-5286' and '3865286' share a tail
        return f"right({_digits(q)}, 9)"
    if kind == "date":
        return f"TRY_CAST({q} AS DATE)"
    if kind == "address":
        return _address(q)
    if kind in ("postal_code", "id"):  # letters and digits only: 'SW1A 1AA', 'AB-123 456'
        return f"nullif(upper(regexp_replace(CAST({q} AS VARCHAR), '[^A-Za-z0-9]', '', 'g')), '')"
    if kind == "country":
        return f"nullif(upper(trim(CAST({q} AS VARCHAR))), '')"
    if kind in ("latitude", "longitude"):
        # 0 means "not geocoded" in many exports (0°N 0°E is open sea): missing, not a place
        return f"nullif(TRY_CAST({q} AS DOUBLE), 0)"
    raise ValueError(kind)


KINDS = (
    "person_name",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "date",
    "address",
    "city",
    "postal_code",
    "region",
    "country",
    "id",
    "latitude",
    "longitude",
    "text",
)


def choose_fields(
    columns: Mapping[str, str], chosen: Mapping[str, str] | None = None
) -> list[Field]:
    """The linkage fields for a customers table with these columns (name → type).

    ``chosen`` (column → kind) replaces the automatic choice entirely.
    """
    kinds: dict[str, str] = {}
    if chosen:
        kinds = dict(chosen)
    else:
        canonical = {
            "first_name": "first_name",
            "last_name": "last_name",
            "company": "company",
            "email": "email",
            "phone": "phone",
            "birth_date": "date",
            "city": "city",
            "postal_code": "postal_code",
            "region": "region",
            "country": "country",
        }
        for col in columns:
            if col in canonical:
                kinds[col] = canonical[col]
            elif col.startswith("_") or col == "customer_id":
                continue
            elif _ADDRESS_NAME.match(col):
                kinds[col] = "address"
            elif _NAME_NAME.match(col):
                kinds[col] = "person_name"
            elif _ORG_NAME.match(col):
                kinds[col] = "company"
            elif _LAT_NAME.match(col) and columns[col].upper() in ("DOUBLE", "FLOAT", "DECIMAL"):
                kinds[col] = "latitude"
            elif _LNG_NAME.match(col) and columns[col].upper() in ("DOUBLE", "FLOAT", "DECIMAL"):
                kinds[col] = "longitude"
            elif _ID_NAME.search(col) and columns[col].upper() in ("VARCHAR", "BIGINT", "INTEGER"):
                kinds[col] = "id"
        if sorted(k for k in kinds.values() if k in ("latitude", "longitude")) != [
            "latitude",
            "longitude",
        ]:  # a position needs both coordinates, once each
            kinds = {c: k for c, k in kinds.items() if k not in ("latitude", "longitude")}
        if "region" in kinds and ({"city", "postal_code"} & set(kinds.values())):
            del kinds["region"]  # a city or postal code says it better; one would count twice
    out: list[Field] = []
    for col, kind in kinds.items():
        if kind not in KINDS:
            from segmint.exceptions import SpecError

            raise SpecError(
                f"identity.fields: '{kind}' (for column '{col}') is not a field kind.",
                fix=f"use one of: {', '.join(KINDS)}",
            )
        if col not in columns:
            from segmint.exceptions import SpecError

            raise SpecError(
                f"identity.fields names the column '{col}', which customers does not have.",
                fix=f"use one of: {', '.join(c for c in columns if not c.startswith('_'))}",
            )
        name = _safe(col)
        out.append(Field(name, kind, col, _kind_sql(kind, col)))
        if kind == "address":
            out.append(
                Field(
                    f"{name}_number",
                    "house_number",
                    col,
                    f"nullif(regexp_extract({_text(_q(col))}, '\\b([0-9]+[a-z]?)\\b', 1), '')",
                )
            )
    return out


def _q(col: str) -> str:
    return f'"{col}"'


def _safe(col: str) -> str:
    s = re.sub(r"[^a-z0-9_]", "_", col.lower())
    return f"f_{s}" if s in ("unique_id", "match_probability", "match_weight") else s


def prepare_sql(fields: list[Field], table: str = "customers", dialect: str = "duckdb") -> str:
    """SELECT the linkage input: ``unique_id`` (the customer id) and one column per field,
    in DuckDB's SQL or (``dialect="spark"``) Spark's."""
    cols = ", ".join(f"{f.sql} AS {f.name}" for f in fields)
    sql = (
        f"SELECT CAST(customer_id AS VARCHAR) AS unique_id, {cols} FROM {table} "
        "WHERE customer_id IS NOT NULL"
    )
    return sql if dialect == "duckdb" else _translate(sql, dialect)


def _translate(sql: str, dialect: str) -> str:
    """DuckDB's SQL in ``dialect`` (sqlglot), ``strip_accents`` as a ``translate``."""
    import sqlglot
    from sqlglot import exp

    def unaccent(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "strip_accents":
            src, dst = _accents()
            return exp.func("translate", node.expressions[0], exp.Literal.string(src),
                            exp.Literal.string(dst))  # fmt: skip
        return node

    tree = sqlglot.parse_one(sql, read="duckdb").transform(unaccent)
    return tree.sql(dialect=dialect)


def _accents() -> tuple[str, str]:
    """``translate`` arguments that do what DuckDB's ``strip_accents`` does to the Latin
    letters (U+00C0–U+024F, U+1E00–U+1EFF: each to its letter without marks) and to
    combining marks (removed: they have no counterpart). Other text passes unchanged."""
    import unicodedata

    src, dst = [], []
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch:
            src.append(ch)
            dst.append(base)
    marks = [chr(c) for c in range(0x300, 0x370)]
    return "".join(src + marks), "".join(dst)


def comparisons(fields: list[Field]) -> list[Any]:
    """Splink comparisons, one per field (first and last name make one together)."""
    import splink.comparison_library as cl

    names = {f.kind: f.name for f in fields}
    out: list[Any] = []
    if "first_name" in names and "last_name" in names:
        out.append(cl.ForenameSurnameComparison(names["first_name"], names["last_name"]))
    for f in fields:
        k = f.kind
        if k in ("first_name", "last_name") and "first_name" in names and "last_name" in names:
            continue
        if k in ("first_name", "last_name", "person_name"):
            out.append(cl.NameComparison(f.name))
        elif k in ("company", "address", "text"):
            out.append(cl.JaroWinklerAtThresholds(f.name, [0.95, 0.88, 0.7]))
        elif k == "email":
            out.append(cl.EmailComparison(f.name))
        elif k == "phone":
            out.append(cl.DamerauLevenshteinAtThresholds(f.name, [1]))
        elif k == "date":
            out.append(
                cl.DateOfBirthComparison(
                    f.name,
                    input_is_string=False,
                    datetime_thresholds=[1, 1, 10],
                    datetime_metrics=["month", "year", "year"],
                )
            )
        elif k == "city":
            out.append(cl.JaroWinklerAtThresholds(f.name, [0.9]))
        elif k in ("postal_code", "id"):
            out.append(cl.DamerauLevenshteinAtThresholds(f.name, [1]))
        elif k in ("region", "country", "house_number"):
            out.append(cl.ExactMatch(f.name))
        elif k == "latitude" and "longitude" in names:
            out.append(cl.DistanceInKMAtThresholds(f.name, names["longitude"], [0.1, 1, 10]))
    return out


def blocking_rules(fields: list[Field]) -> list[list[str]]:
    """Candidate blocking rules, strongest first, each a list of expressions matched exactly
    (a field name, or ``substr(field, 1, n)``). Rules too large are dropped by the caller."""
    by = {f.kind: f.name for f in fields}
    rules: list[list[str]] = []
    for f in fields:
        if f.kind in ("email", "phone", "id"):
            rules.append([f.name])
    first, last, dob = by.get("first_name"), by.get("last_name"), by.get("date")
    postal, city, addr = by.get("postal_code"), by.get("city"), by.get("address")
    person = by.get("person_name")
    company = by.get("company")
    if first and last:
        rules.append([first, last])
        if dob:
            rules += [[last, dob], [first, dob]]
        if postal:
            rules.append([f"substr({last}, 1, 3)", postal])
    elif person:
        rules.append([f"substr({person}, 1, 4)"])
    if company:
        rules.append([f"substr({company}, 1, 4)"])
    if dob and postal:
        rules.append([dob, postal])
    if addr:
        rules.append([f"substr({addr}, 1, 6)"])
        if postal:
            rules.append([by["house_number"], postal])
    if dob and city:
        rules.append([dob, city])
    if "latitude" in by and "longitude" in by:  # about 1 km apart or less
        rules.append([f"round({by['latitude']}, 2)", f"round({by['longitude']}, 2)"])
    seen: set[tuple[str, ...]] = set()
    out = []
    for r in rules:
        if tuple(r) not in seen:
            seen.add(tuple(r))
            out.append(r)
    return out


def training_rules(fields: list[Field]) -> list[list[str]]:
    """Exact rules that almost only two records of one person meet (to estimate how many
    pairs match, with a stated recall): a shared e-mail, phone or identifier, or several
    fields together."""
    by = {f.kind: f.name for f in fields}
    rules: list[list[str]] = [[f.name] for f in fields if f.kind in ("email", "id")]
    if "phone" in by:
        rules.append([by["phone"]])
    first, last, dob = by.get("first_name"), by.get("last_name"), by.get("date")
    if first and last and dob:
        rules.append([first, last, dob])
    if first and last and "postal_code" in by:
        rules.append([first, last, by["postal_code"]])
    name = by.get("person_name") or by.get("company")
    if name and "address" in by:
        rules.append([name, by["address"]])
    if name and "phone" in by:
        rules.append([name, by["phone"]])
    if not rules and name:  # a list of names only: the same name, spelled alike
        rules.append([name])
    return rules
