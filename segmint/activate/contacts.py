"""The contacts of an export: one row per customer of the chosen segments, normalized once.

Every destination reads the same temporary table, built in the engine from the run's
``segment_assignments`` and the ``customers`` table (its golden records, one per person, once
``segmint dedupe`` has linked records):

=============  =================================================================================
column         what it holds
=============  =================================================================================
email          trimmed (spaces, tabs, no-break spaces) and lower-cased; NULL unless it is a
               valid address (``clean``'s rule) that does not start with a character a
               spreadsheet reads as a formula (``+``, ``-``, ``=``, ``@``): such an address
               could not be written byte for byte
phone          E.164 (``+18005550101``): a cleaned phone is kept; any other text is read with
               ``phonenumbers``, the customer's country as the region hint (``020 7946 0958`` in
               GB → ``+442079460958``); NULL when it is not a valid number
first_name,    trimmed, inner runs of white space made one space; letters as given (each
last_name      destination lower-cases or strips accents as its platform says)
country        ISO 3166-1 alpha-2 (``clean``'s rule: ``Germany`` → ``DE``), else NULL
postal_code,   trimmed text
city, region
gender         ``m`` or ``f`` (``male``/``man``/``m``, ``female``/``woman``/``f``/``w``), else NULL
birth_year     the year of ``birth_date`` (4 digits)
consent_*      as stored: true, false or NULL (NULL counts as no consent unless assumed);
               ``consent_profiling`` is read but never written: false (an objection to
               profiling made after the segment run) leaves the customer out of every file
=============  =================================================================================

Phones and countries that are not yet in standard form (a workspace exported before
``clean``) are standardized in Python for their distinct values only; the rest stays in SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import duckdb
import pandas as pd
import pyarrow as pa

from segmint.clean.standardize import (
    EMAIL_SQL,
    EMAIL_VALID_SQL,
    standardize_countries,
    standardize_phones,
)
from segmint.store.csvsafe import FORMULA_STARTS

__all__ = ["CONTACT_COLUMNS", "OBJECTION", "build_contacts"]

#: what every exporter may read (besides customer_id, segment and segment_name)
CONTACT_COLUMNS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "postal_code",
    "city",
    "region",
    "gender",
    "birth_year",
    "consent_email",
    "consent_sms",
    "consent_ads",
)

E164 = r"^\+[1-9][0-9]{6,14}$"
#: the customer ids an export is limited to, registered for a semi join
SUBSET = "_segmint_contacts_subset"
_STARTS = ", ".join("'" + c.replace("'", "''") + "'" for c in FORMULA_STARTS)


#: EMAIL_VALID_SQL over a value EMAIL_SQL has already normalized (the SQL computes the
#: normalized address once instead of once per use: trimming a character set is slow)
_VALID_NORMALIZED = (
    EMAIL_VALID_SQL.replace(EMAIL_SQL, "{col}") if EMAIL_SQL in EMAIL_VALID_SQL else None
)


def _text(col: str) -> str:
    """Trimmed text with inner white space collapsed; NULL when blank.

    The regular expression runs only on the values it changes (a tab, newline, form feed or
    carriage return, or two spaces in a row: what ``\\s+`` → one space alters once the
    spaces around are trimmed); it is the costly part for a million names."""
    text = f"trim(CAST({col} AS VARCHAR))"
    collapse = f"regexp_replace({text}, '\\s+', ' ', 'g')"
    return (
        f"nullif(CASE WHEN regexp_matches({text}, '[\\t\\n\\f\\r]|  ') THEN {collapse} "
        f"ELSE {text} END, '')"
    )


#: read for every export, never written: false when the customer objected to profiling
OBJECTION = "consent_profiling"
#: the customers columns the contacts read (a birth year comes from the birth date)
_READ = (*("birth_date" if c == "birth_year" else c for c in CONTACT_COLUMNS), OBJECTION)


def _customer_column(available: set[str], name: str, sql: str, cast: str = "VARCHAR") -> str:
    return sql if name in available else f"CAST(NULL AS {cast})"


def build_contacts(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    run_id: str,
    segmentation: str,
    segments: list[str],
    customer_ids: Iterable[str] | pa.Array | pa.ChunkedArray | None = None,
    only: Collection[str] | None = None,
    customer_key: str = "c.customer_id",
    customers: str = "customers",
) -> int:
    """Create the temporary table ``table`` with the normalized contacts; return its rows.

    ``customer_ids``: only these customers of the segments (a preview's few examples, a split
    test's variant). They are registered as a table and semi-joined: a list parameter searched
    per row (``list_contains``) is quadratic, minutes for a variant of 100,000 customers.
    ``only``: the contact columns a destination reads; the others are left NULL (normalizing
    columns nobody reads was a third of the time of a 1M-customer Google export).
    ``customer_key``: how the assignments name a customer of ``customers c``
    (:func:`segmint.privacy.pseudonyms.customer_key_sql`: the id, or its pseudonym). The
    contacts' ``customer_id`` is the real id (what a platform or CRM matches on); ``_member``
    is the id as the assignments hold it. ``customers``: the relation read as ``customers c``
    (:func:`segmint.identity.persons.customers_sql`: once records are linked into persons,
    one golden record per person, so a file holds one row per person with the best contact
    data of their records; ``customer_key`` then names its ids without mapping them again)."""
    have = (
        {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE customers)").fetchall()}
        if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'customers' AND NOT temporary"
        ).fetchone()[0]  # type: ignore[index]
        else set()
    )

    if only is not None:
        wanted = {"birth_date" if c == "birth_year" else c for c in only} | {OBJECTION}
        if "phone" in wanted:  # the country is the region hint of national numbers
            wanted.add("country")
        have = {c for c in have if c in wanted or c not in _READ}

    def col(name: str, sql: str, cast: str = "VARCHAR") -> str:
        return _customer_column(have, name, sql, cast)

    if _VALID_NORMALIZED is None:  # EMAIL_VALID_SQL changed shape: normalize per use
        email, valid = EMAIL_SQL.format(col="c.email"), EMAIL_VALID_SQL.format(col="c.email")
    else:  # normalized once, in the inner query
        email, valid = "c._email", _VALID_NORMALIZED.format(col="c._email")
    read = [n for n in _READ if n in have]  # not c.*: an extra attribute may be "segment"
    joined = "".join(f", c.{n}" for n in read)
    if "email" in have:  # after the join: only the segments' customers
        joined += f", {EMAIL_SQL.format(col='c.email')} AS _email"
    gender = _text("c.gender")
    plain = customer_key == "c.customer_id"  # without pseudonyms the two ids are one
    real = (
        "a.customer_id"
        if plain or not have
        else "coalesce(CAST(c.customer_id AS VARCHAR), a.customer_id)"
    )
    some = (
        ""
        if customer_ids is None
        else f"AND CAST(a.customer_id AS VARCHAR) IN (SELECT customer_id FROM {SUBSET})"
    )
    select = f"""
        SELECT c.customer_id, c._member, c.segment, c.segment_name,
          {
        col("email", f"CASE WHEN {valid} AND left({email}, 1) NOT IN ({_STARTS}) THEN {email} END")
    } AS email,
          {col("phone", _text("c.phone"))} AS phone,
          {col("first_name", _text("c.first_name"))} AS first_name,
          {col("last_name", _text("c.last_name"))} AS last_name,
          {col("country", _text("c.country"))} AS country,
          {col("postal_code", _text("c.postal_code"))} AS postal_code,
          {col("city", _text("c.city"))} AS city,
          {col("region", _text("c.region"))} AS region,
          {
        col(
            "gender",
            f"CASE WHEN lower({gender}) IN ('m', 'male', 'man') THEN 'm' "
            f"WHEN lower({gender}) IN ('f', 'female', 'woman', 'w') THEN 'f' END",
        )
    }
            AS gender,
          {col("birth_date", "CAST(year(c.birth_date) AS VARCHAR)")} AS birth_year,
          {col("consent_email", "c.consent_email", "BOOLEAN")} AS consent_email,
          {col("consent_sms", "c.consent_sms", "BOOLEAN")} AS consent_sms,
          {col("consent_ads", "c.consent_ads", "BOOLEAN")} AS consent_ads,
          {col(OBJECTION, f"c.{OBJECTION}", "BOOLEAN")} AS {OBJECTION}
        FROM (
          SELECT {real} AS customer_id, a.customer_id AS _member,
            a.segment, a.segment_name{joined}
          FROM segment_assignments a
          {f"LEFT JOIN {customers} c ON {customer_key} = a.customer_id" if have else ""}
          WHERE a.run_id = ? AND a.segmentation = ? AND list_contains(?, a.segment) {some}
        ) c
    """
    params: list[object] = [run_id, segmentation, segments]
    if customer_ids is not None:
        con.register(SUBSET, pa.table({"customer_id": _id_array(customer_ids)}))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}", params)
    finally:
        if customer_ids is not None:
            con.unregister(SUBSET)
    _standardize_countries(con, table)
    _standardize_phones(con, table)
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def _id_array(ids: Iterable[str] | pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if isinstance(ids, pa.Array | pa.ChunkedArray):
        return ids.cast(pa.string())
    return pa.array([str(i) for i in ids], type=pa.string())


def _standardize_countries(con: duckdb.DuckDBPyConnection, table: str) -> None:
    odd = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT country FROM {table} "
            "WHERE country IS NOT NULL AND NOT regexp_full_match(country, '[A-Z]{2}')"
        ).fetchall()
    ]
    if not odd:
        return
    found = standardize_countries(odd)
    mapping = pd.DataFrame(
        {"raw": list(found), "iso": [std.value for std in found.values()]}, dtype="string"
    )
    _update(con, table, mapping, "SET country = m.iso", "t.country = m.raw")


def _standardize_phones(con: duckdb.DuckDBPyConnection, table: str) -> None:
    odd = con.execute(
        f"SELECT DISTINCT phone, country FROM {table} "
        f"WHERE phone IS NOT NULL AND NOT regexp_matches(phone, '{E164}')"
    ).fetchall()
    if not odd:
        return
    found = standardize_phones([(p, c) for p, c in odd])
    mapping = pd.DataFrame(
        {
            "raw": [p for p, _ in odd],
            "country": [c for _, c in odd],
            "e164": [found[pair].value for pair in odd],
        },
        dtype="string",
    )
    _update(
        con,
        table,
        mapping,
        "SET phone = m.e164",
        "t.phone = m.raw AND t.country IS NOT DISTINCT FROM m.country",
    )


def _update(
    con: duckdb.DuckDBPyConnection, table: str, mapping: pd.DataFrame, set_sql: str, on: str
) -> None:
    """UPDATE ``table`` (alias t) from the Python-made ``mapping`` (alias m)."""
    con.register("_segmint_map", mapping)
    try:
        con.execute(f"UPDATE {table} AS t {set_sql} FROM _segmint_map m WHERE {on}")
    finally:
        con.unregister("_segmint_map")
